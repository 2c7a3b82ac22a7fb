/**
 * What `server.mjs` runs, as a process of its own: the production build served by server-app.mjs and
 * `runWebProcess` (the background work inside unless RUN_WORKER_IN_PROCESS=false, a bounded stop on
 * SIGTERM), configured from the environment. The one difference is what a test hands it in code: its
 * deliveries may go to 127.0.0.1 trusting `loopbackCa`, and Shopify's Admin API calls go to the stand-in at
 * `adminApiUrl`. Prints `ready <pid> <port>` once it serves.
 */
import { startHttpServer } from "../../server-app.mjs";
import { createAddressPolicy } from "../../app/delivery/ssrf.server";
import type { runWebProcess } from "../../app/runtime/processes.server";
import { installForwardingFetch } from "./fake-admin-api";

const { loopbackCa, adminApiUrl } = JSON.parse(process.argv[2] ?? "{}") as { loopbackCa?: string; adminApiUrl?: string };
const http = await startHttpServer({ port: 0, host: "127.0.0.1" });
// After the build is loaded: the Shopify adapter it imports installs its own fetch first.
if (adminApiUrl) installForwardingFetch(adminApiUrl);
const run = http.build.entry.module.runWebProcess as typeof runWebProcess;
await run(http, {
  transport: loopbackCa ? { policy: createAddressPolicy({ allowAddresses: ["127.0.0.1"] }), extraCa: loopbackCa } : undefined,
});
process.stdout.write(`ready ${process.pid} ${http.port}\n`);
