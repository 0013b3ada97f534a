// Prints N free loopback TCP ports, space-separated: each is bound by the OS (port 0) and
// released, all held open together so the N are distinct.
"use strict";
const net = require("node:net");

async function main() {
  const count = Number(process.argv[2] || "1");
  const servers = [];
  for (let i = 0; i < count; i++) {
    const server = net.createServer();
    await new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    servers.push(server);
  }
  const ports = servers.map(s => s.address().port);
  await Promise.all(servers.map(s => new Promise(resolve => s.close(resolve))));
  console.log(ports.join(" "));
}

main().catch(e => { console.error(e); process.exit(1); });
