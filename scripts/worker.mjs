// Delivery worker process (`npm run worker`): sends the webhooks, tags shoppers and runs the reconciler,
// without serving HTTP. Start as many as needed against the same Redis and PostgreSQL database; SIGINT or
// SIGTERM finishes the attempts in flight and exits 0. Needs the production build (`npm run build`).
const build = await import("../build/server/index.js");
try {
  await build.entry.module.runWorkerProcess();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
