// Runs inside the sandbox, in front of the server: bridges the sandbox's loopback-only network and unix
// sockets in a directory shared with the bot (unix socket paths are not network-namespaced).
//
//   node sandbox_relay.mjs [--upstream PORT=SOCKET]... [--expose SOCKET=PORT]... -- COMMAND ARGS...
//
// --upstream: listen on 127.0.0.1:PORT and carry each connection to SOCKET (the bot's stub upstream).
// --expose:   once the server accepts on 127.0.0.1:PORT, listen on SOCKET and carry connections to it (the bot's
//             MCP client). Then run COMMAND with our stdio, and exit with its status.
import { spawn } from "node:child_process";
import net from "node:net";

const argv = process.argv.slice(2);
const split = argv.indexOf("--");
const options = argv.slice(0, split);
const command = argv.slice(split + 1);
const upstreams = [];
const exposed = [];
for (let i = 0; i < options.length; i += 2) {
  const [left, right] = options[i + 1].split("=");
  if (options[i] === "--upstream") upstreams.push({ port: Number(left), socket: right });
  else if (options[i] === "--expose") exposed.push({ socket: left, port: Number(right) });
  else throw new Error(`sandbox relay: unknown option ${options[i]}`);
}

function join(a, b) {
  a.pipe(b);
  b.pipe(a);
  for (const [x, y] of [[a, b], [b, a]]) {
    x.on("error", () => y.destroy());
    x.on("close", () => y.destroy());
  }
}

function listen(server, where) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(where, resolve);
  });
}

function accepts(port) {
  return new Promise((resolve) => {
    const probe = net.connect({ host: "127.0.0.1", port }, () => { probe.destroy(); resolve(true); });
    probe.on("error", () => resolve(false));
  });
}

for (const { port, socket } of upstreams) {
  const server = net.createServer({ allowHalfOpen: true },
    (inside) => join(inside, net.connect({ path: socket, allowHalfOpen: true })));
  await listen(server, { host: "127.0.0.1", port });
}

const child = spawn(command[0], command.slice(1), { stdio: "inherit" });
child.on("error", (error) => { process.stderr.write(`sandbox relay: ${error.message}\n`); process.exit(127); });
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(signal, () => child.kill(signal));

for (const { socket, port } of exposed) {
  while (!(await accepts(port))) await new Promise((resolve) => setTimeout(resolve, 10));
  const server = net.createServer({ allowHalfOpen: true },
    (outside) => join(outside, net.connect({ host: "127.0.0.1", port, allowHalfOpen: true })));
  await listen(server, socket);
}
