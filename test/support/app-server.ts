import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import express from "express";
import type { AppLoadContext, ServerBuild } from "@remix-run/node";
import "../../app/runtime/load-context";
import { createServer as createViteServer, type ViteDevServer } from "vite";

/**
 * The real app, served in-process on 127.0.0.1 for browser tests: Vite's dev server in middleware mode
 * (so the app is compiled from source, never from a stale build) behind Express, with the production
 * server's request handling (server-app.mjs `mountRemix`) loading the server build from Vite. It shares the calling test file's process and so
 * its `process.env` (the fresh test database, the test API key and secret) and its database client.
 */
export interface AppServer {
  /** Origin of the running app, e.g. http://127.0.0.1:41234 */
  url: string;
  vite: ViteDevServer;
  close(): Promise<void>;
}

export interface StartAppServerOptions {
  /**
   * `keep` (the default) leaves SHOPIFY_APP_URL as the test setup set it; pages are opened by the local
   * URL, which the embedded-auth flow accepts because it never compares the request origin with the
   * app URL on a document request carrying a session token. `local` points SHOPIFY_APP_URL at this
   * server before the app's modules load, for flows that redirect to absolute app URLs.
   */
  appUrl?: "keep" | "local";
  /** Handed to every loader and action next to the connection's peer address, as in production. */
  loadContext?: AppLoadContext;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export async function startAppServer(options: StartAppServerOptions = {}): Promise<AppServer> {
  const httpServer = http.createServer();
  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(0, "127.0.0.1", () => {
      httpServer.off("error", reject);
      resolve();
    });
  });
  const { port } = httpServer.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  if (options.appUrl === "local") process.env.SHOPIFY_APP_URL = url;

  let vite: ViteDevServer;
  try {
    vite = await createViteServer({
      root: ROOT,
      configFile: path.join(ROOT, "vite.config.ts"),
      mode: "development",
      logLevel: "warn",
      clearScreen: false,
      appType: "custom",
      // Pre-bundled client dependencies are kept apart from the developer's own dev server cache.
      cacheDir: path.join(ROOT, "node_modules/.vite/browser-tests"),
      server: {
        middlewareMode: true,
        // The HMR socket rides on this server's own port rather than a fixed one, so test files can run in parallel.
        hmr: { server: httpServer },
        watch: null,
      },
    });
  } catch (error) {
    await closeHttp(httpServer);
    throw error;
  }

  const { mountRemix } = await import("../../server-app.mjs");
  const serverBuild = () => vite.ssrLoadModule("virtual:remix/server-build") as Promise<ServerBuild>;
  const app = express();
  app.disable("x-powered-by");
  app.use(vite.middlewares);
  mountRemix(app, {
    build: serverBuild,
    mode: "development",
    loadContext: options.loadContext as Record<string, unknown> | undefined,
    reportError: (error, where) => {
      void serverBuild().then((build) => (build.entry.module as { logServerError?: (e: unknown, w: unknown) => void }).logServerError?.(error, where));
    },
  });
  httpServer.on("request", app);

  return {
    url,
    vite,
    async close() {
      await vite.close();
      await closeHttp(httpServer);
    },
  };
}

/**
 * The production build (made once per run by test/support/production-build.ts), served in-process on
 * 127.0.0.1 exactly as `npm run serve` serves it. Shares the test file's process, environment and database
 * client. For browser tests: no dependency bundling happens while a page loads.
 */
export type BuiltAppServer = Omit<AppServer, "vite">;

export async function startBuiltAppServer(options: StartAppServerOptions = {}): Promise<BuiltAppServer> {
  const { startHttpServer } = await import("../../server-app.mjs");
  const previousCwd = process.cwd();
  process.chdir(ROOT);
  try {
    const server = await startHttpServer({ port: 0, host: "127.0.0.1", loadContext: options.loadContext as Record<string, unknown> | undefined });
    const url = `http://127.0.0.1:${server.port}`;
    if (options.appUrl === "local") process.env.SHOPIFY_APP_URL = url;
    return { url, close: () => server.close() };
  } finally {
    process.chdir(previousCwd);
  }
}

function closeHttp(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
