import { createServer, type Server } from "node:https";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { HEADER_SIGNATURE, HEADER_TIMESTAMP, verifyContractSignature } from "../../app/delivery/signing";
import { getTestCertificates } from "./test-certificates";

/**
 * A real HTTPS webhook receiver on loopback for tests, playing the merchant's CRM.
 *
 * - TLS with a throwaway test CA (see test-certificates.ts); clients must trust `receiver.ca` explicitly.
 * - Records every request: headers, raw body bytes, the local address it arrived on, and whether it
 *   verified under (a) the contract recipe (`verifyContractSignature`), (b) the stock `standardwebhooks`
 *   package and (c) the stock `svix` package, each against the secrets the receiver currently accepts.
 * - Answers as scripted: `enqueue(...)` sets the answers of the next requests in order; once the queue is
 *   empty every request gets the default answer (`respond.ok()` unless `setDefault` changed it).
 * - Records every TLS connection in `connections`, so tests can tell a reused connection from a new one.
 *   By default every answer closes its connection (`Connection: close`), so each request arrives on a new
 *   one; with `keepAlive: true` connections stay open between requests (Node's server defaults,
 *   `Keep-Alive: timeout=5`, or `keepAliveTimeoutMs`).
 *
 * Usage:
 *   const receiver = await startHttpsReceiver({ secrets: [secret] });
 *   receiver.enqueue(respond.status(500), respond.retryAfter(429, "120"));
 *   ... send to receiver.urlFor("/hook") with ca: receiver.ca ...
 *   expect(receiver.requests[0].standard.verified).toBe(true);
 *   await receiver.close();
 */

export type ScriptedResponse =
  /** A complete answer; after `delayMs` if given, and not before `until` settles if given. */
  | { kind: "status"; status: number; headers?: Record<string, string>; body?: string; delayMs?: number; until?: Promise<unknown> }
  /** Reads the request, then destroys the connection without answering (the client sees a reset). */
  | { kind: "reset" }
  /** Reads the request and never answers. */
  | { kind: "hang" }
  /**
   * Answers one byte at a time, every `intervalMs`, and never finishes: in the status line and headers
   * (`phase: "headers"`) or, after complete headers, in the body (`phase: "body"`). In the body phase,
   * `prelude` is written at once first (e.g. more than a client means to read).
   */
  | { kind: "trickle"; phase: "headers" | "body"; intervalMs: number; status: number; prelude?: string }
  /** Sends the status line and headers announcing a body of `announcedBytes`, writes `partial`, then drops the connection. */
  | { kind: "cut"; status: number; announcedBytes: number; partial: string };

export const respond = {
  ok: (body = '{"received":true}', status = 200): ScriptedResponse =>
    ({ kind: "status", status, body, headers: { "content-type": "application/json" } }),
  status: (status: number, body = "", headers: Record<string, string> = {}): ScriptedResponse =>
    ({ kind: "status", status, body, headers }),
  retryAfter: (status: 429 | 503, retryAfter: string): ScriptedResponse =>
    ({ kind: "status", status, body: "slow down", headers: { "retry-after": retryAfter } }),
  gone: (): ScriptedResponse => ({ kind: "status", status: 410, body: "gone" }),
  /** A complete answer that starts only after `delayMs`. */
  delayed: (delayMs: number, status = 200, body = '{"received":true}'): ScriptedResponse =>
    ({ kind: "status", status, body, delayMs, headers: { "content-type": "application/json" } }),
  /** A complete answer held until `release` settles: the test decides when the attempt ends. */
  heldUntil: (release: Promise<unknown>, status = 200, body = '{"received":true}'): ScriptedResponse =>
    ({ kind: "status", status, body, until: release, headers: { "content-type": "application/json" } }),
  redirect: (status: 301 | 302 | 303 | 307 | 308, location: string): ScriptedResponse =>
    ({ kind: "status", status, body: "", headers: { location } }),
  reset: (): ScriptedResponse => ({ kind: "reset" }),
  hang: (): ScriptedResponse => ({ kind: "hang" }),
  /** A status (200 by default), then the connection dropped before the announced body is complete. */
  cut: (status = 200, partial = '{"rec'): ScriptedResponse => ({ kind: "cut", status, announcedBytes: 100, partial }),
  trickle: (options: { phase?: "headers" | "body"; intervalMs?: number; status?: number; prelude?: string } = {}): ScriptedResponse => ({
    kind: "trickle", phase: options.phase ?? "body", intervalMs: options.intervalMs ?? 100, status: options.status ?? 200,
    prelude: options.prelude,
  }),
};

export interface VerificationRecord {
  verified: boolean;
  /** Index (in the accepted secrets at the time) of the secret that verified. */
  secretIndex?: number;
  /** Why the last accepted secret did not verify, when none did. */
  failure?: string;
}

export interface ReceivedRequest {
  method: string;
  /** Path and query as requested. */
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  body: string;
  /** The receiver's address the connection arrived on. */
  localAddress: string | undefined;
  receivedAt: Date;
  /** The contract's own recipe: `x-tryoncloud-signature` over the raw body. */
  contract: VerificationRecord;
  /** `new Webhook(secret).verify(body, headers)` from the `standardwebhooks` package. */
  standard: VerificationRecord;
  /** The same with the `svix` package. */
  svix: VerificationRecord;
  /** What the receiver answered (its script entry). */
  answer: ScriptedResponse;
  /** Index in `receiver.connections` of the connection it arrived on. */
  connection: number;
}

/** One TLS connection a client opened to the receiver (recorded once its handshake completed). */
export interface ReceivedConnection {
  /** The client's end. */
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  /** The receiver's address it arrived on. */
  localAddress: string | undefined;
  /** The client resumed an earlier TLS session (an abbreviated handshake). */
  sessionReused: boolean;
  openedAt: Date;
  /** Set once the connection has closed, by either side. */
  closedAt?: Date;
  /** Requests received on it so far. */
  requests: number;
}

export interface HttpsReceiver {
  /** Base URL on the literal address, e.g. `https://127.0.0.1:41234`. */
  url: string;
  /** The same port under the name `localhost` (which the certificate also covers). */
  localhostUrl: string;
  port: number;
  host: string;
  /** PEM of the CA that signed the receiver's certificate. */
  ca: string;
  /** Every request so far, in arrival order (recorded once the body is complete). */
  requests: ReceivedRequest[];
  /** Every TLS connection so far, in the order their handshakes completed. */
  connections: ReceivedConnection[];
  urlFor(path: string): string;
  enqueue(...answers: ScriptedResponse[]): void;
  setDefault(answer: ScriptedResponse): void;
  /** Which secrets verify requests from now on (any of them may match). */
  setSecrets(secrets: readonly string[]): void;
  /** Resolves once at least `count` requests have been recorded. */
  waitForRequests(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  /** Closes, at once, the kept-alive connections that are between requests (as a server's idle timeout does). */
  closeIdleConnections(): void;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  secrets?: readonly string[];
  /** Loopback address to listen on. Default 127.0.0.1. */
  host?: "127.0.0.1" | "127.0.0.2" | "::1";
  /** Port to listen on. Default: any free one. */
  port?: number;
  /** Contract-recipe timestamp tolerance. Default 300 s. */
  toleranceSeconds?: number;
  /**
   * Keep connections open between requests. Default false: each answer closes its connection, the way the
   * sender's connections behaved before they were pooled, which the delivery and integration suites assume
   * (e.g. that a scripted reset fails the attempt rather than being sent again on a new connection).
   */
  keepAlive?: boolean;
  /** With `keepAlive`: how long an idle connection stays open (the server's `keepAliveTimeout`). Default Node's, 5 s. */
  keepAliveTimeoutMs?: number;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function flatHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const v = firstHeader(value);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

function verifyWithEach(secrets: readonly string[], check: (secret: string) => void): VerificationRecord {
  let failure = "no secret accepted";
  for (const [index, secret] of secrets.entries()) {
    try {
      check(secret);
      return { verified: true, secretIndex: index };
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
  }
  return { verified: false, failure };
}

function verifyAll(secrets: readonly string[], raw: Buffer, headers: IncomingHttpHeaders, toleranceSeconds?: number) {
  const flat = flatHeaders(headers);
  return {
    contract: verifyWithEach(secrets, (secret) => {
      const result = verifyContractSignature(raw, flat[HEADER_SIGNATURE], secret, {
        timestampHeader: flat[HEADER_TIMESTAMP], toleranceSeconds,
      });
      if (!result.ok) throw new Error(result.reason);
    }),
    standard: verifyWithEach(secrets, (secret) => new StandardWebhook(secret).verify(raw, flat)),
    svix: verifyWithEach(secrets, (secret) => new SvixWebhook(secret).verify(raw, flat)),
  };
}

export async function startHttpsReceiver(options: ReceiverOptions = {}): Promise<HttpsReceiver> {
  const { ca, cert, key } = getTestCertificates();
  const host = options.host ?? "127.0.0.1";
  let secrets: readonly string[] = [...(options.secrets ?? [])];
  const queue: ScriptedResponse[] = [];
  let fallback: ScriptedResponse = respond.ok();
  const requests: ReceivedRequest[] = [];
  const connections: ReceivedConnection[] = [];
  const connectionIndex = new WeakMap<object, number>();
  const timers = new Set<NodeJS.Timeout>();
  const waiters = new Set<() => void>();

  function answer(script: ScriptedResponse, req: IncomingMessage, res: ServerResponse): void {
    switch (script.kind) {
      case "status": {
        const send = () => {
          if (res.destroyed) return;
          if (!options.keepAlive) res.setHeader("connection", "close");
          res.writeHead(script.status, script.headers);
          res.end(script.body ?? "");
        };
        const later = () => {
          if (!script.delayMs) return send();
          const timer = setTimeout(() => {
            timers.delete(timer);
            send();
          }, script.delayMs);
          timers.add(timer);
        };
        if (script.until) void script.until.then(later, later);
        else later();
        return;
      }
      case "reset":
        req.socket.destroy();
        return;
      case "hang":
        return;
      case "cut": {
        res.writeHead(script.status, { "content-type": "application/json", "content-length": String(script.announcedBytes) });
        res.write(script.partial, () => setImmediate(() => req.socket.destroy()));
        return;
      }
      case "trickle": {
        // The headers phase writes raw bytes so that even the status line arrives slowly; after the prefix it
        // keeps extending one header value, so the head never completes.
        const prefix = Buffer.from(`HTTP/1.1 ${script.status} OK\r\nx-slow: `);
        if (script.phase === "body") {
          res.writeHead(script.status, { "content-type": "text/plain" });
          res.flushHeaders();
          if (script.prelude) res.write(script.prelude);
        }
        let sent = 0;
        const timer = setInterval(() => {
          if (req.socket.destroyed) {
            clearInterval(timer);
            timers.delete(timer);
            return;
          }
          if (script.phase === "body") res.write(".");
          else req.socket.write(sent < prefix.length ? prefix.subarray(sent, sent + 1) : "a");
          sent++;
        }, script.intervalMs);
        timers.add(timer);
        return;
      }
    }
  }

  const server: Server = createServer({ ca, cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const rawBody = Buffer.concat(chunks);
      const script = queue.shift() ?? fallback;
      const connection = connectionIndex.get(req.socket) ?? -1;
      if (connections[connection]) connections[connection].requests++;
      requests.push({
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        rawBody,
        body: rawBody.toString("utf8"),
        localAddress: req.socket.localAddress,
        receivedAt: new Date(),
        ...verifyAll(secrets, rawBody, req.headers, options.toleranceSeconds),
        answer: script,
        connection,
      });
      for (const wake of [...waiters]) wake();
      answer(script, req, res);
    });
  });

  if (options.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = options.keepAliveTimeoutMs;
  server.on("secureConnection", (socket: TLSSocket) => {
    const record: ReceivedConnection = {
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
      localAddress: socket.localAddress,
      sessionReused: socket.isSessionReused(),
      openedAt: new Date(),
      requests: 0,
    };
    connectionIndex.set(socket, connections.push(record) - 1);
    socket.once("close", () => void (record.closedAt = new Date()));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = host.includes(":") ? `[${host}]` : host;
  const url = `https://${hostInUrl}:${port}`;

  return {
    url,
    localhostUrl: `https://localhost:${port}`,
    port,
    host,
    ca,
    requests,
    connections,
    urlFor: (path) => `${url}${path.startsWith("/") ? path : `/${path}`}`,
    enqueue: (...answers) => void queue.push(...answers),
    setDefault: (script) => void (fallback = script),
    setSecrets: (next) => void (secrets = [...next]),
    waitForRequests(count, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (requests.length < count) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(requests.slice());
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} requests within ${timeoutMs} ms, got ${requests.length}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    closeIdleConnections: () => server.closeIdleConnections(),
    async close() {
      for (const timer of timers) clearInterval(timer);
      timers.clear();
      // Hanging and trickling connections would keep close() waiting forever.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
