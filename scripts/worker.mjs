// Delivery worker process (`npm run worker`): sends the webhooks and runs the reconciler, without serving
// HTTP. Start as many as needed against the same Redis and database; SIGINT or SIGTERM finishes the
// attempts in flight and exits 0. Needs the production build (`npm run build`).
const build = await import("../build/server/index.js");
await build.entry.module.runWorkerProcess();
