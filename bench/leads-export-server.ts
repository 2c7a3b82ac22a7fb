/**
 * The CSV download served the way production serves it: Express, Remix's Express adapter and Remix's
 * request handler in front of the real `exports/leads.csv` resource route. The build holds only that
 * route (and an empty root), so the process carries nothing but what a download needs, and its memory
 * is the download's own. Started by the benchmark as a child process; reports its port over IPC.
 *
 * With LEADS_BENCH_SENDER=pipeline, the response body is sent with `stream.pipeline` instead of the
 * adapter's writer: the same route and Remix handler, but writes wait for the socket to drain and a
 * client that hangs up cancels the body stream. Used to show what that sender changes.
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import express from "express";
import { createRequestHandler } from "@remix-run/express";
import { createRequestHandler as createRemixHandler, type ServerBuild } from "@remix-run/node";
import * as csvRoute from "../app/routes/exports.leads[.]csv";

const ROUTE_ID = "routes/exports.leads[.]csv";

const build = {
  mode: "production",
  future: {},
  basename: undefined,
  publicPath: "/",
  assetsBuildDirectory: "build/client",
  isSpaMode: false,
  assets: { entry: { module: "", imports: [] }, routes: {}, url: "", version: "bench" },
  entry: {
    module: {
      default: () => new Response("Not found", { status: 404 }),
      handleError: (error: unknown) => process.send?.({ type: "error", message: String((error as Error)?.stack ?? error) }),
    },
  },
  routes: {
    root: { id: "root", path: "", module: {} },
    [ROUTE_ID]: { id: ROUTE_ID, parentId: "root", path: "exports/leads.csv", module: csvRoute },
  },
} as unknown as ServerBuild;

const app = express();
app.disable("x-powered-by");
if (process.env.LEADS_BENCH_SENDER === "pipeline") {
  const handle = createRemixHandler(build);
  app.get("*", async (req, res, next) => {
    try {
      const controller = new AbortController();
      res.on("close", () => controller.abort());
      const request = new Request(new URL(req.originalUrl, `http://${req.headers.host}`), { signal: controller.signal });
      const response = await handle(request);
      res.status(response.status);
      response.headers.forEach((value, key) => res.append(key, value));
      if (response.body) await pipeline(Readable.fromWeb(response.body as import("node:stream/web").ReadableStream), res);
      else res.end();
    } catch (error) {
      if (!res.headersSent) next(error);
    }
  });
} else {
  app.all("*", createRequestHandler({ build }));
}

const server = app.listen(0, "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  process.send?.({ type: "ready", port });
});

process.on("message", (message: { type?: string }) => {
  if (message?.type === "memory") process.send?.({ type: "memory", usage: process.memoryUsage() });
  if (message?.type === "stop") {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
process.on("disconnect", () => process.exit(0));
