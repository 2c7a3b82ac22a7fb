// The production HTTP server for the Remix build: static assets plus the request handler. Shared by
// server.mjs (the app) and scripts/demo.ts (the end-to-end run), so both serve exactly the same app; the
// in-process test server mounts the same request handling (`mountRemix`) in front of Vite.
import express from "express";
import expressStaticGzip from "express-static-gzip";
import { createRequestHandler } from "@remix-run/express";

/**
 * Remix behind Express, as every server of this app runs it. Each request's loaders and actions receive
 * `context` (app/runtime/load-context.ts): the given `loadContext` (the production server passes none) plus
 * the connection's peer address, the one address no client can write (rate limits start from it).
 * `reportError(error, where)` writes errors that escape Remix through the app's redacting logger.
 */
export function mountRemix(app, { build, mode, loadContext, reportError }) {
  app.use(resetConnectionWhenResponseFails);
  app.all(
    "*",
    createRequestHandler({ build, mode, getLoadContext: (req) => ({ ...loadContext, socketAddress: req.socket.remoteAddress }) }),
  );
  app.use(errorHandler(reportError));
}

/**
 * Express's last handler: the error goes to `reportError` (never to stderr raw, as Express's default
 * handler would print it), and the client gets a plain 500, or a reset connection if its response had
 * already started.
 */
export function errorHandler(reportError) {
  return (error, req, res, _next) => {
    reportError(error, { method: req.method, path: req.path });
    if (res.headersSent) {
      res.socket?.resetAndDestroy();
      return;
    }
    res.status(500).type("text/plain").send("Internal Server Error");
  };
}

/**
 * A response that fails after its status line was sent (a streamed CSV export whose query fails half-way)
 * cannot change its status, so its connection is reset (TCP RST) instead of closed. A client reading a
 * chunked body sees it cut short either way, but one reading to the end of the connection (HTTP/1.0, or a
 * proxy such as nginx talking HTTP/1.0 to the app, its default) would take an orderly close for the end
 * of a complete file.
 */
function resetConnectionWhenResponseFails(req, res, next) {
  const destroy = res.destroy.bind(res);
  res.destroy = (error) => {
    if (error && res.headersSent && !res.writableFinished) res.socket?.resetAndDestroy();
    return destroy(error);
  };
  next();
}

export async function startHttpServer({ port, host, loadContext } = {}) {
  const build = await import("./build/server/index.js");
  const app = express();
  app.disable("x-powered-by");
  // Hashed file names: cached for a year, never revalidated. Each is served as the brotli or gzip file the build
  // wrote next to it when the browser accepts one (Content-Encoding, Vary: Accept-Encoding), else as is.
  app.use("/assets", expressStaticGzip("build/client/assets", {
    enableBrotli: true,
    orderPreference: ["br", "gzip"],
    serveStatic: { immutable: true, maxAge: "1y" },
  }));
  app.use(express.static("build/client", { maxAge: "1h" }));
  mountRemix(app, { build, loadContext, reportError: build.entry.module.logServerError });
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
