import { createHash, timingSafeEqual } from "node:crypto";
import { metricsText } from "./metrics.server";
import type { Readiness } from "./readiness.server";

/**
 * The three addresses an operator's tools call, answered the same way by the web process (Remix resource routes)
 * and by each worker process (its own small HTTP port):
 * - `/healthz`: 200 while the process serves at all (liveness);
 * - `/readyz`: 200 when the database, Redis and the migrations are fine, else 503 naming the failed check;
 * - `/metrics`: Prometheus's text format, behind `Authorization: Bearer <METRICS_TOKEN>`.
 */

export interface OpsOptions {
  readiness: () => Promise<Readiness>;
  /** METRICS_TOKEN, when configured. */
  metricsToken?: string;
  /**
   * Without a configured token: true answers /metrics with 404 (the web process, reachable from the internet,
   * is never open by accident); false serves it openly (a worker's private port).
   */
  metricsNeedToken: boolean;
}

export const OPS_PATHS = ["/healthz", "/readyz", "/metrics"] as const;

const NO_STORE = { "Cache-Control": "no-store" };

/** The answer for one of OPS_PATHS, or null for any other path. */
export async function answerOps(pathname: string, authorization: string | null, options: OpsOptions): Promise<Response | null> {
  switch (pathname) {
    case "/healthz":
      return new Response("ok\n", { status: 200, headers: { "Content-Type": "text/plain; charset=utf-8", ...NO_STORE } });
    case "/readyz": {
      const { ready, checks } = await options.readiness();
      return Response.json({ status: ready ? "ready" : "not ready", checks }, { status: ready ? 200 : 503, headers: NO_STORE });
    }
    case "/metrics": {
      if (!options.metricsToken) {
        if (options.metricsNeedToken) return new Response("Not Found\n", { status: 404, headers: { "Content-Type": "text/plain", ...NO_STORE } });
      } else if (!bearerMatches(authorization, options.metricsToken)) {
        return new Response("A bearer token is required\n", {
          status: 401,
          headers: { "Content-Type": "text/plain", "WWW-Authenticate": 'Bearer realm="metrics"', ...NO_STORE },
        });
      }
      const { contentType, body } = await metricsText();
      return new Response(body, { status: 200, headers: { "Content-Type": contentType, ...NO_STORE } });
    }
    default:
      return null;
  }
}

/** Compared as digests, in constant time, so neither the token's length nor its content leaks by timing. */
function bearerMatches(authorization: string | null, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  if (!match) return false;
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(match[1]), digest(token));
}
