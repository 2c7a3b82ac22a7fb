// Production entry: serves the Remix build and, unless RUN_WORKER_IN_PROCESS=false, runs the delivery
// worker in the same process (the single-machine default). Run with Node 22 (`npm run serve` does).
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
const stopWorker = typeof runtime.startInProcessWorker === "function" ? await runtime.startInProcessWorker() : null;

let closing = false;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    if (closing) return;
    closing = true;
    await http.close();
    if (stopWorker) await stopWorker();
    process.exit(0);
  });
}
