// Production entry: serves the Remix build and, unless RUN_WORKER_IN_PROCESS=false, runs the background
// work in the same process (the single-machine default). SIGTERM stops it within SHUTDOWN_TIMEOUT.
// Run with Node 22 (`npm run serve` does).
import { startHttpServer } from "./server-app.mjs";

const http = await startHttpServer({ port: Number(process.env.PORT || 3000) });
const runtime = http.build.entry.module;
// What would otherwise reach stderr raw (with whatever an error message holds) goes through the redacting
// logger; the process still stops, as Node would stop it.
for (const event of ["uncaughtException", "unhandledRejection"]) {
  process.on(event, (error) => {
    runtime.logServerError(error, { source: event });
    process.exit(1);
  });
}
console.log(`tryon-leads listening on http://localhost:${http.port}`);
await runtime.runWebProcess(http);
