// `factory-bot sandbox`: what generated code would try, run inside the sandbox; prints {attempt: outcome}.
// An outcome starting with "denied" is the sandbox holding; anything else is a hole.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";

const target = JSON.parse(process.argv[2]);
const result = {};
const denied = (error) => `denied (${error.code || error.message})`;

function attempt(name, fn) {
  try { result[name] = fn(); } catch (error) { result[name] = denied(error); }
}

function connect(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 3000 });
    socket.on("connect", () => { socket.destroy(); resolve("CONNECTED"); });
    socket.on("timeout", () => { socket.destroy(); resolve("denied (no answer in 3 s)"); });
    socket.on("error", (error) => resolve(denied(error)));
  });
}

attempt("write a file outside the scratch copy", () => { fs.appendFileSync(target.outside, "x"); return "WROTE"; });
attempt("write the checkout's .git/config", () => { fs.appendFileSync(target.gitConfig, "\n"); return "WROTE"; });
attempt("list your HOME", () => `LISTED ${fs.readdirSync(target.home).length} entries`);
attempt("read /proc/1/environ", () => {
  const text = fs.readFileSync("/proc/1/environ", "utf8");
  return text ? `READ ${text.length} bytes` : "denied (empty: the sandbox's own init)";
});
attempt("see other processes", () => {
  const seen = fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry)).length;
  return seen > 4 ? `SAW ${seen}` : `denied (sees ${seen}: its own)`;
});
attempt("gain privileges", () => {
  const status = fs.readFileSync("/proc/self/status", "utf8");
  return /NoNewPrivs:\s+1/.test(status) && /CapEff:\s+0+\n/.test(status)
    ? "denied (no capabilities, no new privileges)" : "HAS capabilities or may gain them";
});
attempt("start 400 processes", () => {
  const run = spawnSync("sh", ["-c", "n=0; while [ $n -lt 400 ]; do sleep 30 >/dev/null 2>&1 & n=$((n+1)); echo $n; done"],
    { encoding: "utf8", timeout: 20000 });
  const started = Number(run.stdout.trim().split("\n").pop() || 0);
  return started < 400 ? `denied (stopped at ${started})` : "STARTED 400";
});
attempt("allocate 2 GiB", () => {
  const chunks = [];
  for (let mib = 0; mib < 2048; mib += 64) chunks.push(Buffer.alloc(64 << 20, 1));
  return "ALLOCATED";
});
result["connect to this machine's 127.0.0.1"] = await connect("127.0.0.1", target.port);
result["connect to the internet"] = await connect(target.internet, 443);
spawn("setsid", ["sh", "-c", `sleep 600; : ${target.marker}`], { detached: true, stdio: "ignore" }).unref();
await new Promise((resolve) => setTimeout(resolve, 200));
process.stdout.write(JSON.stringify(result) + "\n");
