"""Node built-ins that only `--http` uses, required when the HTTP transport loads instead of at every start.

esbuild hoists every `import … from "node:…"` of a bundled module to the top of the one output file, even in a
module it evaluates lazily (http.ts is reached only through `await import("./http.js")`). So each stdio start
loaded node:http, node:http2 (not in Node's startup snapshot: compiled on every start) and node:crypto for
@hono/node-server and http.ts: ~13 ms CPU of the ~100 ms a start costs above `node -e 0`. BUNDLE_ARGS aliases
each to src/lazy/<module>.ts, a module of the bundle that `require`s the real one when it is first evaluated,
which is when its importer (the HTTP transport) is. None of them has subpath modules (an alias maps
`node:x/sub` to `<stand-in>/sub`, which would not resolve); node:stream has (`node:stream/promises`), and
node loads it at every start anyway for stdin and stdout, so it stays as it is.
"""

from __future__ import annotations

from collections.abc import Callable

# Each module's public exports on Node 20 (Object.keys, less `_` names) that @types/node declares. Importing a
# name not listed fails the bundle ("No matching export"): a missing one cannot pass silently as undefined.
EXPORTS: dict[str, str] = {
    "http": (
        "METHODS STATUS_CODES Agent ClientRequest IncomingMessage OutgoingMessage Server ServerResponse createServer "
        "validateHeaderName validateHeaderValue get request setMaxIdleHTTPParsers maxHeaderSize globalAgent"
    ),
    "http2": (
        "connect constants createServer createSecureServer getDefaultSettings getPackedSettings getUnpackedSettings "
        "performServerHandshake sensitiveHeaders Http2ServerRequest Http2ServerResponse"
    ),
    "crypto": (
        "checkPrime checkPrimeSync createCipheriv createDecipheriv createDiffieHellman createDiffieHellmanGroup "
        "createECDH createHash createHmac createPrivateKey createPublicKey createSecretKey createSign createVerify "
        "diffieHellman generatePrime generatePrimeSync getCiphers getCipherInfo getCurves getDiffieHellman getHashes "
        "hkdf hkdfSync pbkdf2 pbkdf2Sync generateKeyPair generateKeyPairSync generateKey generateKeySync privateDecrypt "
        "privateEncrypt publicDecrypt publicEncrypt randomBytes randomFill randomFillSync randomInt randomUUID scrypt "
        "scryptSync sign setEngine timingSafeEqual getFips setFips verify hash Certificate DiffieHellman "
        "DiffieHellmanGroup ECDH Hash Hmac KeyObject Sign Verify X509Certificate secureHeapUsed constants webcrypto "
        "subtle getRandomValues"
    ),
}


def shim_path(module: str) -> str:
    return f"src/lazy/{module}.ts"


def alias_args() -> tuple[str, ...]:
    """esbuild options that bundle node:<module> as its lazy stand-in."""
    return tuple(f"--alias:node:{module}=./{shim_path(module)}" for module in EXPORTS)


def files(render: Callable[[str, dict[str, object]], str]) -> dict[str, str]:
    """src/lazy/<module>.ts for each module, rendered by `render(template, extra context)`."""
    return {
        shim_path(module): render("server/src/lazy/module.ts.j2", {"module": module, "names": names.split()})
        for module, names in EXPORTS.items()
    }
