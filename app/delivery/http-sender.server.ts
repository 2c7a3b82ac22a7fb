import { request as httpsRequest } from "node:https";
import type { IncomingMessage } from "node:http";
import type { LookupFunction, Socket } from "node:net";
import { rootCertificates } from "node:tls";
import type { Logger } from "pino";
import { excerptOf, outcomeOfAnswer, outcomeOfNetworkError, outcomeOfTimeout, RESPONSE_EXCERPT_BYTES } from "./attempt-outcome.server";
import { systemClock, type Clock } from "./clock";
import { buildSignatureHeaders, buildUserAgent, type RawBody } from "./signing";
import { checkServerIdentity } from "./tls-identity";
import {
  assertPublicDestination,
  DestinationRefusedError,
  PUBLIC_UNICAST_ONLY,
  type AddressPolicy,
  type ResolvedAddress,
  type Resolver,
  type VettedDestination,
} from "./ssrf.server";
import type { AttemptResult, WebhookEvent } from "./types";

/**
 * One webhook attempt over HTTPS: vet the URL, sign the exact bytes, POST them to exactly the vetted
 * address, classify what came back. It never throws for anything the endpoint or the network does; every
 * such outcome is an AttemptResult. It throws only for caller mistakes (a malformed secret or header value).
 *
 * One deadline covers the whole attempt (DNS, connect, TLS, response head and the part of the body we
 * read), so an endpoint that trickles bytes cannot hold a worker beyond it.
 */

export const DEFAULT_DEADLINE_MS = 10_000;

export interface WebhookRequest {
  url: string;
  /** The serialised JSON body; these exact bytes are signed and sent. */
  body: RawBody;
  /** Stable across attempts of one delivery. */
  deliveryId: string;
  event: WebhookEvent;
  /** The shop's myshopify domain. */
  shop: string;
  /** Plaintext signing secrets, newest first (two during a rotation). */
  secrets: readonly string[];
}

export interface WebhookSenderOptions {
  /** Default: the system resolver (getaddrinfo), all answers. */
  resolve?: Resolver;
  /** Default: public unicast addresses only. */
  policy?: AddressPolicy;
  /** PEM certificates trusted in addition to the default roots (tests pass their test CA). */
  extraCa?: string | readonly string[];
  /** The whole attempt's budget. Default 10 s. */
  deadlineMs?: number;
  clock?: Clock;
  /** Default: `TryOnLeads-Webhooks/<version>`; see buildUserAgent. */
  userAgent?: string;
  /** Receives one debug line per attempt (never the URL's path or query, the body or signatures). */
  logger?: Logger;
}

export interface WebhookSender {
  /** Safe to pass around detached (`const { send } = sender`): it does not use `this`. */
  send(request: WebhookRequest): Promise<AttemptResult>;
}

class DeadlineExceeded extends Error {
  constructor() {
    super("attempt deadline exceeded");
    this.name = "DeadlineExceeded";
  }
}

/**
 * The only name resolution the connection gets: the addresses already vetted for this attempt, never a
 * new DNS query. Node asks for all of them when it races IPv4 and IPv6 (autoSelectFamily).
 */
function pinnedLookup(hostname: string, addresses: readonly ResolvedAddress[]): LookupFunction {
  return (name, options, callback) => {
    const usable = addresses.filter((a) => !options.family || a.family === options.family);
    if (name !== hostname || usable.length === 0) {
      const error = Object.assign(new Error(`no vetted address for ${name}`), { code: "ENOTFOUND" });
      if (options.all) callback(error, []);
      else callback(error, "", 0);
      return;
    }
    if (options.all) callback(null, usable.map((a) => ({ address: a.address, family: a.family })));
    else callback(null, usable[0].address, usable[0].family);
  };
}

/** Waits for `promise` unless the deadline passes first; the promise's own work is left to finish. */
function beforeDeadline<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => { signal.removeEventListener("abort", onAbort); resolve(value); },
      (error) => { signal.removeEventListener("abort", onAbort); reject(error); },
    );
  });
}

export function createWebhookSender(options: WebhookSenderOptions = {}): WebhookSender {
  const policy = options.policy ?? PUBLIC_UNICAST_ONLY;
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const clock = options.clock ?? systemClock;
  const userAgent = options.userAgent ?? buildUserAgent();
  const extra = options.extraCa === undefined ? [] : [options.extraCa].flat();
  // Passing `ca` replaces Node's default roots, so the extra ones are appended to those, never substituted.
  const ca = extra.length > 0 ? [...rootCertificates, ...extra] : undefined;
  if (!(deadlineMs > 0)) throw new RangeError("deadlineMs must be positive");

  function post(destination: VettedDestination, body: Buffer, headers: Record<string, string>, signal: AbortSignal, elapsed: () => number) {
    return new Promise<AttemptResult>((resolve) => {
      const { url, hostname } = destination;
      let dialled: string | undefined = destination.addresses.length === 1 ? destination.addresses[0].address : undefined;
      let response: IncomingMessage | undefined;
      let settled = false;

      const finish = (result: AttemptResult) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        request.destroy();
        response?.destroy();
        resolve(result);
      };
      const onAbort = () =>
        finish(outcomeOfTimeout({ deadlineMs, durationMs: elapsed(), address: dialled, statusCode: response?.statusCode }));

      const request = httpsRequest({
        protocol: "https:",
        host: hostname,
        port: url.port || 443,
        path: `${url.pathname}${url.search}`,
        method: "POST",
        headers: { ...headers, "content-length": String(body.length) },
        lookup: pinnedLookup(hostname, destination.addresses),
        agent: false, // a fresh connection per attempt: nothing pooled from an earlier, differently vetted one
        ca,
        checkServerIdentity,
      });

      request.on("socket", (socket: Socket) => {
        socket.once("connect", () => { dialled = socket.remoteAddress ?? dialled; });
      });
      request.on("error", (error) => {
        if (signal.aborted) return onAbort();
        finish(outcomeOfNetworkError(error, { host: hostname, address: dialled, durationMs: elapsed() }));
      });
      request.on("response", (res) => {
        response = res;
        const chunks: Buffer[] = [];
        let received = 0;
        const answer = () =>
          finish(outcomeOfAnswer({
            status: res.statusCode ?? 0,
            headers: res.headers,
            excerpt: excerptOf(Buffer.concat(chunks)),
            durationMs: elapsed(),
            address: dialled ?? res.socket?.remoteAddress ?? "",
            now: clock.now(),
          }));
        res.on("data", (chunk: Buffer) => {
          chunks.push(chunk);
          received += chunk.length;
          // Enough to show the merchant; the rest is not worth the wait or the memory.
          if (received >= RESPONSE_EXCERPT_BYTES) answer();
        });
        res.on("end", answer);
        // The status is what counts; a body cut short after it still reports that status.
        res.on("error", () => (signal.aborted ? onAbort() : answer()));
        res.on("aborted", () => (signal.aborted ? onAbort() : answer()));
      });

      signal.addEventListener("abort", onAbort, { once: true });
      request.end(body);
    });
  }

  async function send(req: WebhookRequest): Promise<AttemptResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DeadlineExceeded()), deadlineMs);
    try {
      let destination: VettedDestination;
      try {
        destination = await beforeDeadline(assertPublicDestination(req.url, { resolve: options.resolve, policy }), controller.signal);
      } catch (error) {
        if (error instanceof DestinationRefusedError) {
          return { ok: false, errorCode: error.code, message: error.message, durationMs: elapsed(), ...(error.address ? { address: error.address } : {}) };
        }
        if (error instanceof DeadlineExceeded) return outcomeOfTimeout({ deadlineMs, durationMs: elapsed() });
        throw error;
      }
      // The lookup may have answered just as the deadline passed.
      if (controller.signal.aborted) return outcomeOfTimeout({ deadlineMs, durationMs: elapsed() });
      const body = typeof req.body === "string" ? Buffer.from(req.body, "utf8") : Buffer.from(req.body);
      const headers = buildSignatureHeaders({
        deliveryId: req.deliveryId, event: req.event, shop: req.shop, body, secrets: req.secrets, userAgent,
        timestampSeconds: Math.floor(clock.now().getTime() / 1000),
      });
      return await post(destination, body, headers, controller.signal, elapsed);
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async send(req) {
      const result = await send(req);
      // Only the host: paths and queries of CRM endpoints often carry access tokens.
      const host = URL.canParse(req.url) ? new URL(req.url).hostname : undefined;
      options.logger?.debug(
        {
          deliveryId: req.deliveryId, event: req.event, shop: req.shop, host, address: result.address,
          ok: result.ok, statusCode: result.statusCode, errorCode: result.ok ? undefined : result.errorCode, durationMs: result.durationMs,
        },
        "webhook attempt",
      );
      return result;
    },
  };
}
