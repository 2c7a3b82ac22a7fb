/**
 * The delivery benchmark's CRM: an HTTPS server on loopback, in a process of its own, with the test
 * certificates (a throwaway CA). It verifies nothing and answers 200 at once; it notes each request's
 * arrival time (once the body is in) and the lead id from the body, and counts TLS handshakes.
 * Started by delivery.bench.ts with the certificate and key in its environment; talks over IPC.
 */
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { monoMs, processStats, type FromReceiver, type ToReceiver } from "./delivery-common";

const send = (message: FromReceiver) => process.send?.(message);
const LEAD_ID = /"lead_id":"([^"]+)"/;

let leadIds: string[] = [];
let times: number[] = [];
let tlsHandshakes = 0;
let requests = 0;
let non2xx = 0;

const server = createServer(
  { cert: process.env.BENCH_TLS_CERT, key: process.env.BENCH_TLS_KEY },
  (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const at = monoMs();
      requests++;
      const match = LEAD_ID.exec(Buffer.concat(chunks).toString("utf8"));
      if (match) {
        leadIds.push(match[1]);
        times.push(at);
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"received":true}');
      } else {
        non2xx++;
        res.writeHead(400);
        res.end();
      }
    });
  },
);
server.on("secureConnection", () => void tlsHandshakes++);

server.listen(0, "127.0.0.1", () => send({ type: "ready", port: (server.address() as AddressInfo).port }));

process.on("message", (message: ToReceiver) => {
  switch (message.type) {
    case "count":
      return send({ type: "count", count: leadIds.length });
    case "take":
      send({ type: "arrivals", leadIds, times, tlsHandshakes, requests, non2xx });
      leadIds = [];
      times = [];
      tlsHandshakes = 0;
      requests = 0;
      non2xx = 0;
      return;
    case "stats":
      return send({ type: "stats", stats: processStats() });
    case "exit":
      server.closeAllConnections();
      server.close(() => process.exit(0));
  }
});
process.on("disconnect", () => process.exit(0));
