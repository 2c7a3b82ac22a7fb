/**
 * The CSV download served the way production serves it: Express, Remix's Express adapter and Remix's
 * request handler in front of the real `exports/leads.csv` resource route. The build holds only that
 * route (and an empty root), so the process carries nothing but what a download needs, and its memory
 * is the download's own. Started by the benchmark as a child process; reports its port over IPC.
 */
import express from "express";
import { createRequestHandler } from "@remix-run/express";
import type { ServerBuild } from "@remix-run/node";
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
app.all("*", createRequestHandler({ build }));

const server = app.listen(0, "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  process.send?.({ type: "ready", port });
});

process.on("message", (message: { type?: string }) => {
  if (message?.type === "memory") process.send?.({ type: "memory", usage: process.memoryUsage() });
  if (message?.type === "stop") server.close(() => process.exit(0));
});
process.on("disconnect", () => process.exit(0));
