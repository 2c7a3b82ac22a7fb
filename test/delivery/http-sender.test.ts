import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { Writable } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Clock } from "../../app/delivery/clock";
import { createWebhookSender, type WebhookRequest, type WebhookSenderOptions } from "../../app/delivery/http-sender.server";
import { generateSigningSecret } from "../../app/delivery/signing";
import { createAddressPolicy, type ResolvedAddress } from "../../app/delivery/ssrf.server";
import { createLogger } from "../../app/lib/logger.server";
import { respond, startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";

const loopback = createAddressPolicy({ allowAddresses: ["127.0.0.1", "::1"] });
const body = JSON.stringify({ event: "lead_captured", shop: "demo-store.myshopify.com", lead: { email: "shopper@example.com" } });

let secret: string;
let receiver: HttpsReceiver;
const extraReceivers: HttpsReceiver[] = [];

beforeEach(async () => {
  secret = generateSigningSecret();
  receiver = await startHttpsReceiver({ secrets: [secret], keepAlive: true });
});

afterEach(async () => {
  await receiver.close();
  for (const r of extraReceivers.splice(0)) await r.close();
});

function sender(overrides: WebhookSenderOptions = {}) {
  return createWebhookSender({ extraCa: receiver.ca, policy: loopback, deadlineMs: 3_000, ...overrides });
}

function request(overrides: Partial<WebhookRequest> = {}): WebhookRequest {
  return {
    url: receiver.urlFor("/hooks/crm"),
    body,
    deliveryId: "dlv_test_1",
    event: "lead_captured",
    shop: "demo-store.myshopify.com",
    secrets: [secret],
    ...overrides,
  };
}

/** A resolver that answers from a list per call (the last entry repeats) and counts its calls. */
function scriptedResolver(...answers: string[][]) {
  const calls: string[] = [];
  const resolve = async (hostname: string): Promise<ResolvedAddress[]> => {
    calls.push(hostname);
    const list = answers[Math.min(calls.length - 1, answers.length - 1)];
    return list.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
  return Object.assign(resolve, { calls });
}

const fixedClock = (at: Date): Clock => ({ now: () => at });

describe("webhook sender: successful deliveries", () => {
  it("GIVEN a 2xx answer THEN the attempt succeeds and the receiver verifies it by the contract recipe, standardwebhooks and svix", async () => {
    const result = await sender().send(request({ url: receiver.urlFor("/hooks/crm?list=7") }));

    expect(result).toMatchObject({ ok: true, statusCode: 200, address: "127.0.0.1", responseExcerpt: '{"received":true}' });
    expect(receiver.requests).toHaveLength(1);
    const [received] = receiver.requests;
    expect(received.method).toBe("POST");
    expect(received.path).toBe("/hooks/crm?list=7");
    expect(received.body).toBe(body);
    expect(received.contract).toEqual({ verified: true, secretIndex: 0 });
    expect(received.standard).toEqual({ verified: true, secretIndex: 0 });
    expect(received.svix).toEqual({ verified: true, secretIndex: 0 });
    expect(received.headers).toMatchObject({
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(body)),
      "x-tryoncloud-delivery-id": "dlv_test_1",
      "x-tryoncloud-event": "lead_captured",
      "x-tryoncloud-shop": "demo-store.myshopify.com",
      "webhook-id": "dlv_test_1",
    });
    expect(received.headers["user-agent"]).toMatch(/^TryOnLeads-Webhooks\/\d+\.\d+\.\d+/);
    expect(Math.abs(Number(received.headers["x-tryoncloud-timestamp"]) - Date.now() / 1000)).toBeLessThan(5);
  });

  it("GIVEN a host name THEN it is resolved once, dialled at that address and the certificate is checked against the name", async () => {
    const resolve = scriptedResolver(["127.0.0.1"]);
    const result = await sender({ resolve }).send(request({ url: `${receiver.localhostUrl}/hook` }));
    expect(result).toMatchObject({ ok: true, address: "127.0.0.1" });
    expect(resolve.calls).toEqual(["localhost"]);
    expect(receiver.requests[0].headers.host).toBe(`localhost:${receiver.port}`);
  });

  it("GIVEN the system resolver and a loopback allow-list THEN localhost is reached", async () => {
    const result = await sender().send(request({ url: `${receiver.localhostUrl}/hook` }));
    expect(result).toMatchObject({ ok: true, address: "127.0.0.1" });
  });

  it("GIVEN an IPv6 receiver THEN the bracketed literal is dialled", async () => {
    const v6 = await startHttpsReceiver({ secrets: [secret], host: "::1" });
    extraReceivers.push(v6);
    const result = await sender().send(request({ url: v6.urlFor("/hook") }));
    expect(result).toMatchObject({ ok: true, address: "::1" });
    expect(v6.requests[0].standard.verified).toBe(true);
  });

  it("GIVEN two secrets during a rotation THEN a receiver holding either one verifies by every recipe", async () => {
    const newer = generateSigningSecret();
    const older = generateSigningSecret();
    const send = sender();

    receiver.setSecrets([older]);
    expect((await send.send(request({ secrets: [newer, older] }))).ok).toBe(true);
    receiver.setSecrets([newer]);
    expect((await send.send(request({ secrets: [newer, older] }))).ok).toBe(true);
    receiver.setSecrets([generateSigningSecret()]);
    expect((await send.send(request({ secrets: [newer, older] }))).ok).toBe(true);

    const [withOld, withNew, withStranger] = receiver.requests;
    for (const r of [withOld, withNew]) {
      expect(r.contract.verified && r.standard.verified && r.svix.verified).toBe(true);
      expect(r.headers["x-tryoncloud-signature"]).toMatch(/^sha256=[0-9a-f]{64}, sha256=[0-9a-f]{64}$/);
      expect(r.headers["webhook-signature"]).toMatch(/^v1,\S+ v1,\S+$/);
    }
    expect([withStranger.contract.verified, withStranger.standard.verified, withStranger.svix.verified]).toEqual([false, false, false]);
  });

  it("WHEN the same delivery is attempted again later THEN it is signed afresh with a new timestamp and the same id", async () => {
    const t0 = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    await sender({ clock: fixedClock(t0) }).send(request());
    await sender({ clock: fixedClock(new Date(t0.getTime() + 60_000)) }).send(request());
    const [first, second] = receiver.requests;
    expect(first.headers["webhook-id"]).toBe(second.headers["webhook-id"]);
    expect(Number(second.headers["webhook-timestamp"]) - Number(first.headers["webhook-timestamp"])).toBe(60);
    expect(second.headers["x-tryoncloud-timestamp"]).toBe(second.headers["webhook-timestamp"]);
    expect(first.headers["webhook-signature"]).not.toBe(second.headers["webhook-signature"]);
    expect(first.standard.verified && second.standard.verified).toBe(true);
  });

  it("GIVEN a long answer THEN only the first 1 KB is read and the attempt ends without waiting for the rest", async () => {
    receiver.enqueue(respond.trickle({ prelude: "y".repeat(4_000), intervalMs: 1_000 }));
    const result = await sender({ deadlineMs: 2_000 }).send(request());
    expect(result.ok).toBe(true);
    expect(result.responseExcerpt).toBe("y".repeat(1024));
    expect(result.durationMs).toBeLessThan(1_500);
  });

  it("masks an email or signature that the endpoint echoes back", async () => {
    receiver.enqueue(respond.status(422, "duplicate contact shopper@example.com"));
    const result = await sender().send(request());
    expect(result.responseExcerpt).toBe("duplicate contact [email]");
  });
});

describe("webhook sender: failed answers", () => {
  it("GIVEN a 500 THEN http_status with the status in plain words", async () => {
    receiver.enqueue(respond.status(500, "database down"));
    const result = await sender().send(request());
    expect(result).toMatchObject({
      ok: false, errorCode: "http_status", statusCode: 500, address: "127.0.0.1",
      message: "Your endpoint answered 500 Internal Server Error", responseExcerpt: "database down",
    });
    expect(result.ok || result.retryAfterMs).toBeUndefined();
  });

  it("GIVEN a 429 with Retry-After in seconds THEN the wait is reported in milliseconds", async () => {
    receiver.enqueue(respond.retryAfter(429, "120"));
    const result = await sender().send(request());
    expect(result).toMatchObject({ ok: false, errorCode: "http_status", statusCode: 429, retryAfterMs: 120_000 });
    expect(result.ok || result.message).toBe("Your endpoint answered 429 Too Many Requests and asked us to wait 120 seconds before trying again");
  });

  it("GIVEN a 503 with Retry-After as an HTTP date THEN the wait is counted from the sender's clock", async () => {
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    receiver.enqueue(respond.retryAfter(503, new Date(now.getTime() + 90_000).toUTCString()));
    const result = await sender({ clock: fixedClock(now) }).send(request());
    expect(result).toMatchObject({ ok: false, errorCode: "http_status", statusCode: 503, retryAfterMs: 90_000 });
  });

  it("GIVEN Retry-After on a 500 THEN it is not taken as a wish", async () => {
    receiver.enqueue(respond.status(500, "", { "retry-after": "60" }));
    const result = await sender().send(request());
    expect(result).toMatchObject({ ok: false, statusCode: 500 });
    expect(result).not.toHaveProperty("retryAfterMs");
  });

  it("GIVEN a 410 THEN endpoint_gone", async () => {
    receiver.enqueue(respond.gone());
    expect(await sender().send(request())).toMatchObject({ ok: false, errorCode: "endpoint_gone", statusCode: 410 });
  });

  it.each([301, 302, 307, 308] as const)("GIVEN a %i redirect THEN it fails with redirect and the target gets no request", async (status) => {
    receiver.enqueue(respond.redirect(status, receiver.urlFor("/moved")));
    const result = await sender().send(request());
    expect(result).toMatchObject({ ok: false, errorCode: "redirect", statusCode: status });
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.requests.map((r) => r.path)).toEqual(["/hooks/crm"]);
  });
});

describe("webhook sender: an answer must be complete to count", () => {
  it("GIVEN a 200 whose connection drops before the announced body ends THEN the attempt fails with connection_failed, keeping the status", async () => {
    receiver.enqueue(respond.cut(200));
    const result = await sender().send(request());
    expect(result).toMatchObject({ ok: false, errorCode: "connection_failed", statusCode: 200 });
    expect(result.ok || result.message).toBe(
      "Your endpoint answered 200 OK, but the connection closed before the answer was complete; it is sent again",
    );
  });

  it("GIVEN a 500 cut short THEN the status still decides (http_status)", async () => {
    receiver.enqueue(respond.cut(500));
    expect(await sender().send(request())).toMatchObject({ ok: false, errorCode: "http_status", statusCode: 500 });
  });
});

describe("outbound exchange: any method, the caller's headers, the same vetting", () => {
  it("GIVEN a PUT with its own headers THEN exactly those go out and the whole answer up to the asked size comes back", async () => {
    const answerBody = JSON.stringify({ data: "z".repeat(3_000) });
    receiver.enqueue(respond.status(201, answerBody, { "content-type": "application/json" }));
    const result = await sender().exchange({
      method: "PUT", url: receiver.urlFor("/lists/abc/members/123?skip=1"),
      headers: { authorization: "Basic dXNlcjprZXk=", "content-type": "application/json" }, body: '{"a":1}', maxResponseBytes: 8_192,
    });
    expect(result).toMatchObject({ ok: true, status: 201, complete: true, address: "127.0.0.1" });
    expect(result.ok && result.body.toString()).toBe(answerBody);
    const [received] = receiver.requests;
    expect(received).toMatchObject({ method: "PUT", path: "/lists/abc/members/123?skip=1", body: '{"a":1}' });
    expect(received.headers).toMatchObject({ authorization: "Basic dXNlcjprZXk=", "content-type": "application/json", "content-length": "7" });
    expect(received.headers["x-tryoncloud-signature"]).toBeUndefined();
  });

  it("GIVEN a GET THEN no body and no content-length go out", async () => {
    await sender().exchange({ method: "GET", url: receiver.urlFor("/api/accounts"), headers: { accept: "application/json" } });
    const [received] = receiver.requests;
    expect(received.method).toBe("GET");
    expect(received.rawBody.length).toBe(0);
    expect(received.headers["content-length"]).toBeUndefined();
  });

  it("GIVEN the production policy THEN a loopback URL is refused before any connection", async () => {
    const result = await createWebhookSender({ extraCa: receiver.ca, deadlineMs: 3_000 }).exchange({
      method: "POST", url: receiver.urlFor("/x"), headers: {}, body: "{}",
    });
    expect(result).toMatchObject({ ok: false, errorCode: "address_refused" });
    expect(receiver.requests).toHaveLength(0);
  });

  it("GIVEN a 200 cut short THEN the answer is reported incomplete", async () => {
    receiver.enqueue(respond.cut(200));
    const result = await sender().exchange({ method: "POST", url: receiver.urlFor("/x"), headers: {}, body: "{}" });
    expect(result).toMatchObject({ ok: true, status: 200, complete: false });
  });
});

describe("webhook sender: network failures and the deadline", () => {
  it("GIVEN the connection is reset THEN connection_failed", async () => {
    receiver.enqueue(respond.reset());
    const result = await sender().send(request());
    expect(result).toMatchObject({ ok: false, errorCode: "connection_failed", address: "127.0.0.1" });
    expect(receiver.requests).toHaveLength(1);
  });

  it("GIVEN nothing listens on the port THEN connection_failed, connection refused", async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const result = await sender().send(request({ url: `https://127.0.0.1:${port}/hook` }));
    expect(result).toMatchObject({ ok: false, errorCode: "connection_failed", address: "127.0.0.1" });
    expect(result.ok || result.message).toBe("We could not connect to 127.0.0.1: the connection was refused");
  });

  it.each([
    ["trickles the body", respond.trickle({ phase: "body", intervalMs: 50 })],
    ["trickles the status line and headers", respond.trickle({ phase: "headers", intervalMs: 50 })],
    ["never answers", respond.hang()],
  ])("GIVEN an endpoint that %s THEN the attempt fails with timeout at the deadline", async (_label, script) => {
    receiver.enqueue(script);
    const deadlineMs = 1_000;
    const started = Date.now();
    const result = await sender({ deadlineMs }).send(request());
    const wall = Date.now() - started;
    expect(result).toMatchObject({ ok: false, errorCode: "timeout", message: "Your endpoint did not answer completely within 1 second" });
    expect(result.durationMs).toBeGreaterThanOrEqual(deadlineMs - 5);
    expect(wall).toBeLessThan(deadlineMs + 300);
  });

  it("GIVEN a resolver slower than the deadline THEN timeout, without waiting for the resolver", async () => {
    const slow = () => new Promise<ResolvedAddress[]>((resolve) => setTimeout(() => resolve([{ address: "127.0.0.1", family: 4 }]), 3_000));
    const started = Date.now();
    const result = await sender({ deadlineMs: 500, resolve: slow }).send(request({ url: `${receiver.localhostUrl}/hook` }));
    expect(result).toMatchObject({ ok: false, errorCode: "timeout" });
    expect(Date.now() - started).toBeLessThan(800);
    expect(receiver.requests).toHaveLength(0);
  });

  it("GIVEN the test CA is not trusted THEN tls_error and nothing is delivered", async () => {
    const result = await createWebhookSender({ policy: loopback }).send(request());
    expect(result).toMatchObject({ ok: false, errorCode: "tls_error", address: "127.0.0.1" });
    expect(result.ok || result.message).toBe("The certificate of 127.0.0.1 is not signed by a trusted certificate authority");
    expect(receiver.requests).toHaveLength(0);
  });

  it("GIVEN a name the certificate does not cover THEN tls_error, even though the address is the receiver's", async () => {
    const resolve = scriptedResolver(["127.0.0.1"]);
    const result = await sender({ resolve }).send(request({ url: `https://hooks.example.test:${receiver.port}/hook` }));
    expect(result).toMatchObject({ ok: false, errorCode: "tls_error" });
    expect(result.ok || result.message).toBe("The certificate presented is not valid for hooks.example.test");
    expect(receiver.requests).toHaveLength(0);
  });
});

describe("webhook sender: destination checks", () => {
  it("GIVEN the production default policy THEN loopback is refused with address_refused and never dialled", async () => {
    const result = await createWebhookSender({ extraCa: receiver.ca }).send(request());
    expect(result).toMatchObject({
      ok: false, errorCode: "address_refused", address: "127.0.0.1",
      message: "The address 127.0.0.1 is a loopback address (this machine); leads are only sent to public internet addresses",
    });
    expect(receiver.requests).toHaveLength(0);
  });

  it("GIVEN answers that change between lookups THEN each attempt checks and dials the same single answer", async () => {
    // First lookup: the allowed receiver address. Every later lookup: 127.0.0.2, which the policy refuses.
    const resolve = scriptedResolver(["127.0.0.1"], ["127.0.0.2"]);
    const send = sender({ resolve });

    const first = await send.send(request({ url: `${receiver.localhostUrl}/hook` }));
    expect(first).toMatchObject({ ok: true, address: "127.0.0.1" });
    expect(resolve.calls).toHaveLength(1);
    expect(receiver.requests.map((r) => r.localAddress)).toEqual(["127.0.0.1"]);

    const second = await send.send(request({ url: `${receiver.localhostUrl}/hook` }));
    expect(second).toMatchObject({ ok: false, errorCode: "address_refused", address: "127.0.0.2" });
    expect(resolve.calls).toHaveLength(2);
    expect(receiver.requests).toHaveLength(1);
  });

  it("GIVEN a resolver answer the system resolver would not give THEN exactly that answer is dialled", async () => {
    // The system resolver maps localhost to 127.0.0.1 here; only a sender that dials the vetted answer reaches ::1.
    const v6 = await startHttpsReceiver({ secrets: [secret], host: "::1" });
    extraReceivers.push(v6);
    const resolve = scriptedResolver(["::1"]);
    const result = await sender({ resolve }).send(request({ url: `${v6.localhostUrl}/hook` }));
    expect(result).toMatchObject({ ok: true, address: "::1" });
    expect(v6.requests.map((r) => r.localAddress)).toEqual(["::1"]);
    expect(resolve.calls).toEqual(["localhost"]);
  });

  it("GIVEN a refused first answer and an allowed later one THEN the attempt is refused on its one lookup", async () => {
    const resolve = scriptedResolver(["127.0.0.2"], ["127.0.0.1"]);
    const result = await sender({ resolve }).send(request({ url: `${receiver.localhostUrl}/hook` }));
    expect(result).toMatchObject({ ok: false, errorCode: "address_refused", address: "127.0.0.2" });
    expect(resolve.calls).toHaveLength(1);
    expect(receiver.requests).toHaveLength(0);
  });

  it("GIVEN a resolver that fails THEN dns_failure", async () => {
    const failing = async (): Promise<ResolvedAddress[]> => { throw Object.assign(new Error("ENOTFOUND"), { code: "ENOTFOUND" }); };
    const result = await sender({ resolve: failing }).send(request({ url: "https://crm.invalid/hook" }));
    expect(result).toMatchObject({ ok: false, errorCode: "dns_failure", message: "The host name crm.invalid could not be resolved" });
  });

  it("GIVEN an http: URL THEN invalid_url and no request", async () => {
    const result = await sender().send(request({ url: `http://127.0.0.1:${receiver.port}/hook` }));
    expect(result).toMatchObject({ ok: false, errorCode: "invalid_url" });
    expect(receiver.requests).toHaveLength(0);
  });

  it("GIVEN a URL with credentials THEN invalid_url, no request, and the password is not repeated", async () => {
    const result = await sender().send(request({ url: `https://crm:hunter2@127.0.0.1:${receiver.port}/hook` }));
    expect(result).toMatchObject({ ok: false, errorCode: "invalid_url" });
    expect(JSON.stringify(result)).not.toContain("hunter2");
    expect(receiver.requests).toHaveLength(0);
  });
});

describe("webhook sender: logging", () => {
  it("logs the attempt without the secret, signatures, body, shopper email or URL query", async () => {
    const lines: string[] = [];
    const destination = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
    const logger = createLogger({ level: "debug", destination });
    await sender({ logger }).send(request({ url: receiver.urlFor("/hook?api_key=crm-token-123") }));
    const output = lines.join("");
    expect(output).toContain('"deliveryId":"dlv_test_1"');
    expect(output).toContain('"statusCode":200');
    const sent = receiver.requests[0].headers;
    for (const forbidden of [secret, "shopper@example.com", "crm-token-123", String(sent["webhook-signature"]).slice(3, 20)]) {
      expect(output).not.toContain(forbidden);
    }
  });
});

describe("webhook sender: kept-alive connections", () => {
  /** Polls until `check` holds, or fails after `timeoutMs`. */
  async function waitUntil(check: () => boolean, timeoutMs: number, what: string) {
    const until = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** A sender whose debug lines are kept, to see whether a connection was reused or the request sent again. */
  function loggedSender(overrides: WebhookSenderOptions = {}) {
    const lines: Array<Record<string, unknown>> = [];
    const destination = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
    const send = sender({ logger: createLogger({ level: "debug", destination }), ...overrides });
    senders.push(send);
    return Object.assign(send, { lines });
  }
  const senders: Array<{ close(): void }> = [];
  afterEach(() => {
    for (const s of senders.splice(0)) s.close();
  });

  const twoLoopbacks = createAddressPolicy({ allowAddresses: ["127.0.0.1", "127.0.0.2"] });

  it("GIVEN several attempts to one endpoint THEN they share one TLS connection and each is verified as before", async () => {
    const send = loggedSender();
    for (let i = 1; i <= 5; i++) {
      const result = await send.send(request({ deliveryId: `dlv_keepalive_${i}` }));
      expect(result).toMatchObject({ ok: true, statusCode: 200, address: "127.0.0.1" });
    }
    expect(receiver.connections).toHaveLength(1);
    expect(receiver.connections[0].requests).toBe(5);
    expect(receiver.requests.map((r) => r.headers["webhook-id"])).toEqual([1, 2, 3, 4, 5].map((i) => `dlv_keepalive_${i}`));
    for (const r of receiver.requests) {
      expect(r.connection).toBe(0);
      expect(r.body).toBe(body);
      expect(r.contract.verified && r.standard.verified && r.svix.verified).toBe(true);
    }
    expect(send.lines.map((l) => l.reusedConnection)).toEqual([false, true, true, true, true]);
    expect(send.lines.every((l) => l.retried === false)).toBe(true);
  });

  it("GIVEN DNS answers that change between attempts THEN the new address is dialled on a new connection, never over the old one", async () => {
    // The same port on a second loopback address: the host name, port and certificate are all the same.
    const other = await startHttpsReceiver({ secrets: [secret], host: "127.0.0.2", port: receiver.port, keepAlive: true });
    extraReceivers.push(other);
    const resolve = scriptedResolver(["127.0.0.1"], ["127.0.0.2"], ["127.0.0.1"], ["127.0.0.2", "127.0.0.1"]);
    const send = loggedSender({ resolve, policy: twoLoopbacks, deadlineMs: 1_000 });
    const url = `${receiver.localhostUrl}/hook`;

    expect(await send.send(request({ url }))).toMatchObject({ ok: true, address: "127.0.0.1" });
    expect(await send.send(request({ url }))).toMatchObject({ ok: true, address: "127.0.0.2" });
    expect(receiver.requests).toHaveLength(1);
    expect(other.requests).toHaveLength(1);
    expect(other.connections).toHaveLength(1);
    expect(other.requests[0].standard.verified).toBe(true);

    // Back to the first answer: its connection was vetted for exactly that answer, so it may be reused.
    expect(await send.send(request({ url }))).toMatchObject({ ok: true, address: "127.0.0.1" });
    expect(receiver.connections).toHaveLength(1);
    expect(receiver.connections[0].requests).toBe(2);

    // A different set of vetted addresses is a different destination, even though it includes 127.0.0.1.
    const fourth = await send.send(request({ url }));
    expect(fourth.ok).toBe(true);
    expect(["127.0.0.1", "127.0.0.2"]).toContain(fourth.address);
    expect(receiver.connections.length + other.connections.length).toBe(3);

    // The same two answers again: that connection is reused, and the result still names the address it is
    // connected to, even when the attempt fails (here: no answer before the deadline).
    (fourth.address === "127.0.0.1" ? receiver : other).enqueue(respond.hang());
    const fifth = await send.send(request({ url }));
    expect(fifth).toMatchObject({ ok: false, errorCode: "timeout", address: fourth.address });
    expect(receiver.connections.length + other.connections.length).toBe(3);
    expect(send.lines.map((l) => l.reusedConnection)).toEqual([false, false, true, false, true]);
    expect(resolve.calls).toHaveLength(5);
  });

  it("GIVEN the endpoint closed the idle connection just as the next attempt is sent THEN that attempt is sent once more on a new connection and delivered", async () => {
    const send = loggedSender();
    expect((await send.send(request({ deliveryId: "dlv_first" }))).ok).toBe(true);
    await pause(50);
    // The server closes its idle connection; the sender has not yet seen that when it picks it for the next
    // attempt (no I/O runs between these two lines), as happens when a server's idle timeout fires just then.
    receiver.closeIdleConnections();
    const result = await send.send(request({ deliveryId: "dlv_second" }));

    expect(result).toMatchObject({ ok: true, statusCode: 200, address: "127.0.0.1" });
    expect(send.lines[1]).toMatchObject({ reusedConnection: true, retried: true, ok: true });
    expect(receiver.requests.map((r) => [r.headers["webhook-id"], r.connection])).toEqual([["dlv_first", 0], ["dlv_second", 1]]);
    expect(receiver.requests[1].standard.verified).toBe(true);
    expect(receiver.connections[0].closedAt).toBeDefined();
  });

  it("GIVEN a reused connection reset after the request arrived THEN the same bytes and signatures are sent once more, and a second reset fails the attempt", async () => {
    receiver.enqueue(respond.ok(), respond.reset());
    const send = loggedSender();
    await send.send(request({ deliveryId: "dlv_a" }));
    const retried = await send.send(request({ deliveryId: "dlv_b" }));
    expect(retried).toMatchObject({ ok: true, statusCode: 200 });
    const [, reset, again] = receiver.requests;
    expect(receiver.requests).toHaveLength(3);
    expect(again.rawBody.equals(reset.rawBody)).toBe(true);
    for (const header of ["webhook-id", "webhook-timestamp", "webhook-signature", "x-tryoncloud-signature", "x-tryoncloud-timestamp"]) {
      expect(again.headers[header]).toBe(reset.headers[header]);
    }
    expect([reset.connection, again.connection]).toEqual([0, 1]);

    // Once only: the retry's own connection being reset is a failure like any other. (The retry's connection
    // is not pooled, so the next attempt opens one that the one after can reuse.)
    expect((await send.send(request({ deliveryId: "dlv_c" }))).ok).toBe(true);
    receiver.enqueue(respond.reset(), respond.reset());
    const failed = await send.send(request({ deliveryId: "dlv_d" }));
    expect(failed).toMatchObject({ ok: false, errorCode: "connection_failed", address: "127.0.0.1" });
    expect(receiver.requests.filter((r) => r.headers["webhook-id"] === "dlv_d").map((r) => r.connection)).toEqual([2, 3]);
    expect(send.lines.map((l) => [l.reusedConnection, l.retried])).toEqual([[false, false], [true, true], [false, false], [true, true]]);
  });

  it("GIVEN a reused connection on which the endpoint does not answer THEN the attempt times out and is not sent again", async () => {
    receiver.enqueue(respond.ok(), respond.hang());
    const send = loggedSender({ deadlineMs: 800 });
    await send.send(request());
    expect(await send.send(request())).toMatchObject({ ok: false, errorCode: "timeout" });
    expect(receiver.requests).toHaveLength(2);
    expect(send.lines[1]).toMatchObject({ reusedConnection: true, retried: false });
  });

  it("GIVEN an endpoint announcing a keep-alive timeout shorter than a second THEN its connections are not kept and every attempt is delivered", async () => {
    const brief = await startHttpsReceiver({ secrets: [secret], keepAlive: true, keepAliveTimeoutMs: 300 });
    extraReceivers.push(brief);
    const send = loggedSender();
    expect((await send.send(request({ url: brief.urlFor("/hook") }))).ok).toBe(true);
    await pause(400);
    expect((await send.send(request({ url: brief.urlFor("/hook") }))).ok).toBe(true);
    expect((await send.send(request({ url: brief.urlFor("/hook") }))).ok).toBe(true);
    expect(brief.requests).toHaveLength(3);
    expect(brief.connections).toHaveLength(3);
    expect(send.lines.every((l) => l.reusedConnection === false && l.retried === false)).toBe(true);
  });

  it("GIVEN an endpoint that closes its connection after each answer THEN every attempt is delivered on a new one", async () => {
    const closing = await startHttpsReceiver({ secrets: [secret] });
    extraReceivers.push(closing);
    const send = loggedSender();
    for (let i = 0; i < 3; i++) expect((await send.send(request({ url: closing.urlFor("/hook") }))).ok).toBe(true);
    expect(closing.requests.map((r) => [r.headers.connection, r.connection])).toEqual([["keep-alive", 0], ["keep-alive", 1], ["keep-alive", 2]]);
    expect(send.lines.every((l) => l.reusedConnection === false && l.retried === false)).toBe(true);
  });

  it("GIVEN an answer cut at the excerpt limit THEN its connection is closed, not reused", async () => {
    receiver.enqueue(respond.status(200, "y".repeat(4_000)));
    const send = loggedSender();
    expect(await send.send(request())).toMatchObject({ ok: true, responseExcerpt: "y".repeat(1024) });
    expect(await send.send(request())).toMatchObject({ ok: true, responseExcerpt: '{"received":true}' });
    expect(receiver.requests.map((r) => r.connection)).toEqual([0, 1]);
    await waitUntil(() => receiver.connections[0].closedAt !== undefined, 1_000, "the cut connection to close");
    // The new connection to the same destination resumes the first one's TLS session (a shorter handshake).
    expect(receiver.connections.map((c) => c.sessionReused)).toEqual([false, true]);
    // An answer read to its end does return its connection.
    expect((await send.send(request())).ok).toBe(true);
    expect(receiver.requests.map((r) => r.connection)).toEqual([0, 1, 1]);
  });

  it("GIVEN an answer that comes after the deadline THEN its connection is closed, not reused", async () => {
    receiver.enqueue(respond.delayed(1_200));
    const send = loggedSender({ deadlineMs: 800 });
    expect(await send.send(request())).toMatchObject({ ok: false, errorCode: "timeout" });
    // Past the late answer: had the connection been kept, it would now be idle in the pool.
    await pause(700);
    expect(receiver.connections[0].closedAt).toBeDefined();
    expect((await send.send(request())).ok).toBe(true);
    expect(receiver.requests.map((r) => r.connection)).toEqual([0, 1]);
    expect(send.lines[1]).toMatchObject({ reusedConnection: false });
  });

  it("GIVEN a slow answer on a sender with a short idle time THEN the answer is still awaited up to the deadline", async () => {
    // Node applies the agent's idle timeout to connections in use too; it must only ever close idle ones.
    receiver.enqueue(respond.delayed(600));
    const send = loggedSender({ idleConnectionMs: 200, deadlineMs: 3_000 });
    expect(await send.send(request())).toMatchObject({ ok: true, statusCode: 200 });
    expect((await send.send(request())).ok).toBe(true);
    expect(receiver.connections).toHaveLength(1);
  });

  it("GIVEN an idle connection THEN it is closed after the idle time", async () => {
    const send = loggedSender({ idleConnectionMs: 300 });
    await send.send(request());
    await pause(100);
    expect(receiver.connections[0].closedAt).toBeUndefined();
    await waitUntil(() => receiver.connections[0].closedAt !== undefined, 1_500, "the idle connection to close");
    expect(receiver.connections[0].closedAt!.getTime() - receiver.requests[0].receivedAt.getTime()).toBeGreaterThanOrEqual(250);
    expect((await send.send(request())).ok).toBe(true);
    expect(receiver.connections).toHaveLength(2);
  });

  it("WHEN the sender is closed THEN its pooled connections end, and a later attempt opens a new one", async () => {
    const send = loggedSender();
    await send.send(request());
    await pause(50);
    expect(receiver.connections[0].closedAt).toBeUndefined();
    send.close();
    await waitUntil(() => receiver.connections[0].closedAt !== undefined, 1_000, "the pooled connection to close");
    expect((await send.send(request())).ok).toBe(true);
    expect(receiver.connections).toHaveLength(2);
  });

  it("WHEN the sender is closed during an attempt on a reused connection THEN that attempt fails and is not sent again", async () => {
    const send = loggedSender();
    await send.send(request());
    receiver.enqueue(respond.delayed(400));
    const pending = send.send(request());
    await receiver.waitForRequests(2);
    send.close();
    expect(await pending).toMatchObject({ ok: false, errorCode: "connection_failed", address: "127.0.0.1" });
    await pause(500);
    expect(receiver.requests).toHaveLength(2);
    expect(send.lines[1]).toMatchObject({ reusedConnection: true, retried: false });
  });

  it("GIVEN an idle pooled connection THEN it does not keep the process alive", async () => {
    // A separate process sends one webhook and then has nothing left to do: it must exit at once, not when
    // the idle connection times out (4 s).
    const senderModule = pathToFileURL(fileURLToPath(new URL("../../app/delivery/http-sender.server.ts", import.meta.url))).href;
    const ssrfModule = pathToFileURL(fileURLToPath(new URL("../../app/delivery/ssrf.server.ts", import.meta.url))).href;
    const script = `
      const { createWebhookSender } = await import(${JSON.stringify(senderModule)});
      const { createAddressPolicy } = await import(${JSON.stringify(ssrfModule)});
      const sender = createWebhookSender({ extraCa: process.env.RECEIVER_CA, policy: createAddressPolicy({ allowAddresses: ["127.0.0.1"] }) });
      const result = await sender.send(JSON.parse(process.env.WEBHOOK_REQUEST));
      console.log(JSON.stringify(result));
    `;
    const started = Date.now();
    const child = await new Promise<{ error: Error | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ["--import", "tsx", "--input-type=module", "-e", script],
        { env: { ...process.env, RECEIVER_CA: receiver.ca, WEBHOOK_REQUEST: JSON.stringify(request()) }, timeout: 15_000 },
        (error, stdout, stderr) => resolve({ error, stdout, stderr }),
      );
    });
    expect(child.stderr).toBe("");
    expect(child.error).toBeNull();
    expect(JSON.parse(child.stdout)).toMatchObject({ ok: true, statusCode: 200 });
    await waitUntil(() => receiver.connections[0]?.closedAt !== undefined, 1_000, "the child's connection to close");
    // The connection ended with the process, well before the idle time would have closed it.
    expect(receiver.connections[0].closedAt!.getTime() - receiver.requests[0].receivedAt.getTime()).toBeLessThan(2_000);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
