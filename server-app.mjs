// The production HTTP server for the Remix build: static assets plus the request handler. Shared by
// server.mjs (the app) and scripts/demo.ts (the end-to-end run), so both serve exactly the same app.
import express from "express";
import { createRequestHandler } from "@remix-run/express";

// `loadContext` is what every request's loaders and actions receive as `context` (app/runtime/load-context.ts);
// the production server passes none.
export async function startHttpServer({ port, host, loadContext } = {}) {
  const build = await import("./build/server/index.js");
  const app = express();
  app.disable("x-powered-by");
  app.use("/assets", express.static("build/client/assets", { immutable: true, maxAge: "1y" }));
  app.use(express.static("build/client", { maxAge: "1h" }));
  app.all("*", createRequestHandler({ build, getLoadContext: () => ({ ...loadContext }) }));
  const server = await new Promise((resolve, reject) => {
    const s = app.listen(port ?? 3000, host, () => resolve(s)).on("error", reject);
  });
  return {
    build,
    server,
    port: server.address().port,
    // Stops accepting connections and closes idle ones; requests in flight get `graceMs` (default none) to end.
    close: (graceMs = 0) => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      if (graceMs > 0) setTimeout(() => server.closeAllConnections(), graceMs).unref();
      else server.closeAllConnections();
    }),
  };
}
