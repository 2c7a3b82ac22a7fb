import { createServer } from "node:net";
import { Writable } from "node:stream";
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
  receiver = await startHttpsReceiver({ secrets: [secret] });
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
      message: "The address 127.0.0.1 is a loopback address (this machine); webhooks only go to public internet addresses",
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
