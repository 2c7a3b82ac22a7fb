import { createServer, type Server } from "node:https";
import type { IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { createWebhookSender, type WebhookSender } from "../../app/delivery/http-sender.server";
import { createAddressPolicy, type Resolver } from "../../app/delivery/ssrf.server";
import type { HttpRequestDefinition } from "../../app/destinations/http-request";
import { issueTestCertificates } from "./test-certificates";

/**
 * A third-party API (HubSpot, Mailchimp, Slack...) played on loopback under its real host names: HTTPS
 * with a certificate for those names from a throwaway CA, reached through a resolver that answers
 * 127.0.0.1 for them (and nothing else), so the request leaves the product exactly as it would in
 * production, host name, TLS name check and all; only the port differs (see `onPort`).
 *
 * `handle` plays the API: it checks what the real API checks and answers as it documents.
 */

export interface StandInRequest {
  method: string;
  /** Path and query as requested. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface StandInAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface ApiStandIn {
  port: number;
  ca: string;
  requests: StandInRequest[];
  /** Answers 127.0.0.1 for the stand-in's host names, ENOTFOUND for anything else. */
  resolve: Resolver;
  /** A sender that reaches the stand-in (and only loopback), trusting its CA. */
  sender(options?: { logger?: Logger }): WebhookSender;
  close(): Promise<void>;
}

function matches(hostname: string, pattern: string): boolean {
  if (!pattern.startsWith("*.")) return hostname === pattern;
  const suffix = pattern.slice(1);
  return hostname.endsWith(suffix) && !hostname.slice(0, -suffix.length).includes(".");
}

export async function startApiStandIn(options: {
  hostnames: readonly string[];
  handle: (request: StandInRequest) => StandInAnswer;
}): Promise<ApiStandIn> {
  const { ca, cert, key } = issueTestCertificates({ dnsNames: options.hostnames });
  const requests: StandInRequest[] = [];
  const server: Server = createServer({ cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const request: StandInRequest = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      requests.push(request);
      let answer: StandInAnswer;
      try {
        answer = options.handle(request);
      } catch (error) {
        answer = { status: 500, body: `stand-in failed: ${error instanceof Error ? error.message : String(error)}` };
      }
      res.writeHead(answer.status, { connection: "close", ...answer.headers });
      res.end(answer.body ?? "");
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const resolve: Resolver = async (hostname) => {
    if (options.hostnames.some((pattern) => matches(hostname, pattern))) return [{ address: "127.0.0.1", family: 4 }];
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
  };
  const policy = createAddressPolicy({ allowAddresses: ["127.0.0.1"] });
  return {
    port,
    ca,
    requests,
    resolve,
    sender: (senderOptions = {}) => createWebhookSender({ resolve, policy, extraCa: ca, deadlineMs: 5_000, logger: senderOptions.logger }),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

/** The same definition with the stand-in's port added to its URL (the preset's host and path unchanged). */
export function onPort(definition: HttpRequestDefinition, port: number): HttpRequestDefinition {
  const url = definition.url.replace(/^(https:\/\/[^/?#]+)/, `$1:${port}`);
  return { ...definition, url };
}

/** A JSON answer. */
export function jsonAnswer(status: number, body: unknown, contentType = "application/json"): StandInAnswer {
  return { status, headers: { "content-type": contentType }, body: JSON.stringify(body) };
}
