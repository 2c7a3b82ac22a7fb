/**
 * The capture benchmark's server process: the production build served exactly as server.mjs serves it
 * (server-app.mjs: Express, static files, Remix's request handler), bound to 127.0.0.1 on a free port.
 * Started by bench/capture.bench.ts with `--import ./bench/capture-probe.mjs`; reports its port over IPC
 * and stops when told to or when the benchmark goes away. The benchmark sets RUN_WORKER_IN_PROCESS=false:
 * no worker runs here, so the process does web work only.
 */
import { startHttpServer } from "../server-app.mjs";

const http = await startHttpServer({ port: 0, host: "127.0.0.1" });
process.send?.({ type: "ready", port: http.port });

let closing = false;
async function stop() {
  if (closing) return;
  closing = true;
  await Promise.race([http.close(), new Promise((resolve) => setTimeout(resolve, 2000))]);
  process.exit(0);
}
process.on("message", (message) => {
  if (message?.type === "stop") void stop();
});
process.on("SIGTERM", () => void stop());
process.on("disconnect", () => void stop());
