import { Agent, request as httpsRequest, type RequestOptions } from "node:https";
import type { ClientRequest, IncomingMessage } from "node:http";
import type { LookupFunction, Socket } from "node:net";
import { createSecureContext, rootCertificates, type SecureContext } from "node:tls";
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
import type { AttemptFailure, AttemptResult, WebhookEvent } from "./types";

/**
 * One webhook attempt over HTTPS: vet the URL, sign the exact bytes, POST them to exactly the vetted
 * address, classify what came back. It never throws for anything the endpoint or the network does; every
 * such outcome is an AttemptResult. It throws only for caller mistakes (a malformed secret or header value).
 *
 * One deadline covers the whole attempt (DNS, connect, TLS, response head and the part of the body we
 * read), so an endpoint that trickles bytes cannot hold a worker beyond it.
 *
 * Connections are kept alive and reused between attempts to the same destination, so a busy endpoint does
 * not cost a TLS handshake per delivery. A pooled connection is only ever reused by an attempt that vetted
 * exactly the same set of addresses (see VettedAddressAgent), and only after a complete exchange.
 */

export const DEFAULT_DEADLINE_MS = 10_000;
/**
 * How long an idle pooled connection is kept. Well below common server keep-alive timeouts (nginx 75 s,
 * Node 5 s, many load balancers 60 s) so that we close first; a shorter `Keep-Alive: timeout=` announced
 * by the server shortens it further (Node's agent keeps it one second below the announced value).
 */
export const DEFAULT_IDLE_CONNECTION_MS = 4_000;
/** Concurrent connections per destination (host, port and vetted addresses); further attempts queue. */
export const MAX_CONNECTIONS_PER_DESTINATION = 32;
/**
 * Idle connections kept per destination: as many as may be open, so that the connections of a busy worker
 * (one per attempt in flight) all stay for the next attempts instead of being closed and opened again
 * with a new TLS handshake each. Idle ones still close after the idle time.
 */
export const MAX_IDLE_CONNECTIONS_PER_DESTINATION = MAX_CONNECTIONS_PER_DESTINATION;

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

/**
 * Any HTTPS request to a merchant's destination (a CRM API, Klaviyo, a webhook), before it is sent: the
 * sender vets the URL and dials only the vetted address, whatever the caller put in it.
 */
export interface OutboundRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: string;
  /** Sent as given; `content-length` is added from the body. */
  headers: Record<string, string>;
  body?: RawBody;
  /**
   * How much of the answer to read (default RESPONSE_EXCERPT_BYTES, enough to show the merchant). An
   * answer is complete once this much of it was read, or it ended; the rest is not waited for.
   */
  maxResponseBytes?: number;
}

/** An answer that arrived, whatever its status. */
export interface HttpAnswer {
  ok: true;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** At most `maxResponseBytes` of the answer's body. */
  body: Buffer;
  /**
   * The answer ended normally, or as much as asked for was read. False when the connection closed
   * after the status line but before that: the receiver may not have finished with the request.
   */
  complete: boolean;
  durationMs: number;
  /** The IP address that was dialled (after the SSRF check). */
  address: string;
}

/** The answer, or why none arrived (the URL refused, DNS, connection, TLS, the deadline). */
export type ExchangeResult = HttpAnswer | AttemptFailure;

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
  /** How long an idle connection stays in the pool. Default 4 s. */
  idleConnectionMs?: number;
}

export interface WebhookSender {
  /** Safe to pass around detached (`const { send } = sender`): it does not use `this`. */
  send(request: WebhookRequest): Promise<AttemptResult>;
  /** Any request, under the same vetting, deadline and connection pool; the caller classifies the answer. Detachable too. */
  exchange(request: OutboundRequest): Promise<ExchangeResult>;
  /**
   * Closes every pooled connection, idle or in use (an attempt in flight then fails as connection_failed),
   * so call it once attempts have finished. Idle connections never keep the process alive; this is for a
   * prompt, tidy stop. A later `send` still works, on new connections.
   */
  close(): void;
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

/** Request options understood by VettedAddressAgent. */
interface VettedRequestOptions extends RequestOptions {
  /** The attempt's vetted addresses, sorted and comma-joined: part of the pool key. */
  vettedKey: string;
  /** One trust store per sender (missing from the RequestOptions type, honoured by tls.connect). */
  secureContext?: SecureContext;
}

/**
 * A keep-alive agent whose pool key also names the addresses vetted for the attempt. A connection opened
 * for one attempt is therefore reused only by a later attempt that vetted exactly the same address set,
 * so when the DNS answers for a host change, the next attempt dials (and vets) the new address instead
 * of riding an old connection to an address it never checked. Node calls getName with the request's
 * options merged with the agent's, both to pick a pooled connection and to file a connection back.
 */
class VettedAddressAgent extends Agent {
  override getName(options?: RequestOptions & { vettedKey?: string }): string {
    return `${super.getName(options)}:vetted=${options?.vettedKey ?? ""}`;
  }
}

/**
 * The errors of a kept-alive connection that the server closed (idle timeout, restart) just as we sent on
 * it: the request never reached a live connection, or possibly did, with no answer.
 */
function isStaleConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ECONNRESET" || code === "EPIPE" || code === "ECONNABORTED") return true;
  return error instanceof Error && error.message === "socket hang up";
}

/** What became of one attempt, and over which kind of connection. */
interface Exchange {
  result: ExchangeResult;
  /** The request first went out on a pooled connection. */
  reusedConnection: boolean;
  /** That pooled connection had been closed by the server, and the request was sent again on a new one. */
  retried: boolean;
}

const noExchange = (result: ExchangeResult): Exchange => ({ result, reusedConnection: false, retried: false });

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
  const idleConnectionMs = options.idleConnectionMs ?? DEFAULT_IDLE_CONNECTION_MS;
  const extra = options.extraCa === undefined ? [] : [options.extraCa].flat();
  if (!(deadlineMs > 0)) throw new RangeError("deadlineMs must be positive");
  if (!(idleConnectionMs > 0)) throw new RangeError("idleConnectionMs must be positive");
  // Passing `ca` replaces Node's default roots, so the extra ones are appended to those, never substituted.
  // Built once: a `ca` per request would cost a new secure context per connection.
  const secureContext = extra.length > 0 ? createSecureContext({ ca: [...rootCertificates, ...extra] }) : undefined;
  const agent = new VettedAddressAgent({
    keepAlive: true,
    maxSockets: MAX_CONNECTIONS_PER_DESTINATION,
    maxFreeSockets: MAX_IDLE_CONNECTIONS_PER_DESTINATION,
    scheduling: "lifo",
    // Node applies it to every socket of the agent; it closes a socket only while it is idle in the pool.
    timeout: idleConnectionMs,
    // On the agent, not per request: Node never pools a connection made with a per-request check.
    checkServerIdentity,
  });
  /** Counts close() calls: an attempt under way when close() ends its connection is not sent again. */
  let closings = 0;

  interface Outgoing {
    method: OutboundRequest["method"];
    body: Buffer;
    headers: Record<string, string>;
    maxResponseBytes: number;
  }

  function transmit(destination: VettedDestination, out: Outgoing, signal: AbortSignal, elapsed: () => number) {
    return new Promise<Exchange>((resolve) => {
      const { url, hostname } = destination;
      const closingsAtStart = closings;
      const onlyAddress = destination.addresses.length === 1 ? destination.addresses[0].address : undefined;
      const requestOptions: VettedRequestOptions = {
        protocol: "https:",
        host: hostname,
        port: url.port || 443,
        path: `${url.pathname}${url.search}`,
        method: out.method,
        headers: { ...out.headers, ...(out.body.length > 0 || out.method !== "GET" ? { "content-length": String(out.body.length) } : {}) },
        lookup: pinnedLookup(hostname, destination.addresses),
        vettedKey: destination.addresses.map((a) => a.address).sort().join(","),
        ...(secureContext ? { secureContext } : {}),
      };
      let request: ClientRequest;
      let response: IncomingMessage | undefined;
      let dialled = onlyAddress;
      let reusedConnection = false;
      let retried = false;
      let settled = false;

      /** `reusable`: the answer was read to its end, so the connection may go back to the pool. */
      const finish = (result: ExchangeResult, reusable = false) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        // Node files the connection back to the pool by itself after a complete exchange. Anything less (the
        // deadline, the read limit, an error, our request not fully written) leaves bytes in flight on it,
        // so it is destroyed and never reused.
        if (!reusable || !request.writableFinished) {
          request.destroy();
          response?.destroy();
        }
        resolve({ result, reusedConnection, retried });
      };
      const onAbort = () =>
        finish(outcomeOfTimeout({ deadlineMs, durationMs: elapsed(), address: dialled, statusCode: response?.statusCode }));

      /** `fresh`: a new connection outside the pool, for the one retry. */
      const start = (fresh: boolean) => {
        const req = fresh
          ? httpsRequest({ ...requestOptions, agent: false, checkServerIdentity })
          : httpsRequest({ ...requestOptions, agent });
        request = req;
        response = undefined;
        dialled = onlyAddress;

        req.on("socket", (socket: Socket) => {
          if (req !== request) return;
          if (req.reusedSocket) reusedConnection = true;
          // A pooled connection is already connected and will not emit `connect` again.
          if (!socket.connecting && socket.remoteAddress) dialled = socket.remoteAddress;
          else socket.once("connect", () => { if (req === request) dialled = socket.remoteAddress ?? dialled; });
        });
        req.on("error", (error) => {
          if (req !== request) return;
          if (signal.aborted) return onAbort();
          // A kept-alive connection the server closed as we sent: once, the same bytes on a new connection,
          // within the same deadline. Deliveries are at-least-once under a stable id, so should the first
          // copy have arrived after all, the receiver sees a duplicate it can recognise.
          // (Not when close() ended it.)
          const closedByUs = closings !== closingsAtStart;
          if (req.reusedSocket && !retried && !closedByUs && response === undefined && !settled && isStaleConnectionError(error)) {
            retried = true;
            req.destroy();
            start(true);
            return;
          }
          finish(outcomeOfNetworkError(error, { host: hostname, address: dialled, durationMs: elapsed() }));
        });
        req.on("response", (res) => {
          if (req !== request) return void res.destroy();
          response = res;
          const chunks: Buffer[] = [];
          let received = 0;
          const answer = (complete: boolean, reusable = false) =>
            finish({
              ok: true,
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).subarray(0, out.maxResponseBytes),
              complete,
              durationMs: elapsed(),
              address: dialled ?? res.socket?.remoteAddress ?? "",
            }, reusable);
          res.on("data", (chunk: Buffer) => {
            chunks.push(chunk);
            received += chunk.length;
            // As much as the caller asked for; the rest is not worth the wait or the memory.
            if (received >= out.maxResponseBytes) answer(true);
          });
          res.on("end", () => answer(res.complete, res.complete));
          // The connection closed after the status line: the answer is there, but incomplete.
          res.on("error", () => (signal.aborted ? onAbort() : answer(false)));
          res.on("aborted", () => (signal.aborted ? onAbort() : answer(false)));
        });
        req.end(out.body);
      };

      signal.addEventListener("abort", onAbort, { once: true });
      start(false);
    });
  }

  /** Vets the URL, then `prepare` builds what goes on the wire (signing happens there, after the DNS answer). */
  async function run(url: string, prepare: () => Outgoing): Promise<Exchange> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DeadlineExceeded()), deadlineMs);
    try {
      let destination: VettedDestination;
      try {
        destination = await beforeDeadline(assertPublicDestination(url, { resolve: options.resolve, policy }), controller.signal);
      } catch (error) {
        if (error instanceof DestinationRefusedError) {
          return noExchange({ ok: false, errorCode: error.code, message: error.message, durationMs: elapsed(), ...(error.address ? { address: error.address } : {}) });
        }
        if (error instanceof DeadlineExceeded) return noExchange(outcomeOfTimeout({ deadlineMs, durationMs: elapsed() }));
        throw error;
      }
      // The lookup may have answered just as the deadline passed.
      if (controller.signal.aborted) return noExchange(outcomeOfTimeout({ deadlineMs, durationMs: elapsed() }));
      return await transmit(destination, prepare(), controller.signal, elapsed);
    } finally {
      clearTimeout(timer);
    }
  }

  function debugLine(fields: Record<string, unknown>, url: string, exchange: Exchange, result: AttemptResult | ExchangeResult) {
    if (!options.logger?.isLevelEnabled("debug")) return;
    // Only the host: paths and queries of CRM endpoints often carry access tokens.
    const host = URL.canParse(url) ? new URL(url).hostname : undefined;
    options.logger.debug(
      {
        ...fields, host, address: result.address, ok: result.ok, statusCode: "status" in result ? result.status : result.statusCode,
        errorCode: result.ok ? undefined : result.errorCode, durationMs: result.durationMs,
        reusedConnection: exchange.reusedConnection, retried: exchange.retried,
      },
      "outbound attempt",
    );
  }

  return {
    async send(req) {
      const exchange = await run(req.url, () => {
        const body = typeof req.body === "string" ? Buffer.from(req.body, "utf8") : Buffer.from(req.body);
        const headers = buildSignatureHeaders({
          deliveryId: req.deliveryId, event: req.event, shop: req.shop, body, secrets: req.secrets, userAgent,
          timestampSeconds: Math.floor(clock.now().getTime() / 1000),
        });
        return { method: "POST", body, headers, maxResponseBytes: RESPONSE_EXCERPT_BYTES };
      });
      const result = webhookOutcome(exchange.result, clock.now());
      debugLine({ deliveryId: req.deliveryId, event: req.event, shop: req.shop }, req.url, exchange, result);
      return result;
    },
    async exchange(req) {
      const exchange = await run(req.url, () => ({
        method: req.method,
        body: req.body === undefined ? Buffer.alloc(0) : typeof req.body === "string" ? Buffer.from(req.body, "utf8") : Buffer.from(req.body),
        headers: { "user-agent": userAgent, ...req.headers },
        maxResponseBytes: req.maxResponseBytes ?? RESPONSE_EXCERPT_BYTES,
      }));
      debugLine({ method: req.method }, req.url, exchange, exchange.result);
      return exchange.result;
    },
    close() {
      closings++;
      agent.destroy();
    },
  };
}

/** A webhook's answer in the contract's terms (see outcomeOfAnswer), or the failure as it came. */
export function webhookOutcome(result: ExchangeResult, now: Date): AttemptResult {
  if (!result.ok) return result;
  return outcomeOfAnswer({
    status: result.status, headers: result.headers, excerpt: excerptOf(result.body), durationMs: result.durationMs,
    address: result.address, now, complete: result.complete,
  });
}
