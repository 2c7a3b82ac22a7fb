// Production entry: serves the Remix build and, unless RUN_WORKER_IN_PROCESS=false, runs the delivery
// worker in the same process (the single-machine default). Run with Node 22 (`npm start` does).
import express from "express";
import { createRequestHandler } from "@remix-run/express";

const build = await import("./build/server/index.js");
const app = express();
app.disable("x-powered-by");
app.use("/assets", express.static("build/client/assets", { immutable: true, maxAge: "1y" }));
app.use(express.static("build/client", { maxAge: "1h" }));
app.all("*", createRequestHandler({ build }));

const port = Number(process.env.PORT || 3000);
const server = app.listen(port, () => console.log(`tryon-leads listening on http://localhost:${port}`));
const runtime = build.entry.module;
const stopWorker = typeof runtime.startInProcessWorker === "function" ? await runtime.startInProcessWorker() : null;

let closing = false;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    if (closing) return;
    closing = true;
    server.close();
    if (stopWorker) await stopWorker();
    process.exit(0);
  });
}
