// Waits until the console answers GET /api/v1/cluster with 200.
// Usage: node wait-for-console.js URL TIMEOUT_MS [PID]; exits 1 on timeout or when PID died.
"use strict";

async function main() {
  const [base, timeoutArg, pidArg] = process.argv.slice(2);
  const deadline = Date.now() + Number(timeoutArg || "30000");
  const pid = pidArg ? Number(pidArg) : null;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (pid !== null) {
      try { process.kill(pid, 0); } catch {
        console.error(`[browser] fjord (pid ${pid}) exited before its console answered`);
        process.exit(1);
      }
    }
    try {
      const r = await fetch(`${base}/api/v1/cluster`);
      if (r.ok) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = e.cause ? e.cause.code || String(e.cause) : String(e);
    }
    await new Promise(resolve => setTimeout(resolve, 100));
  }
  console.error(`[browser] ${base} did not answer within ${timeoutArg} ms (last: ${last})`);
  process.exit(1);
}

main();
