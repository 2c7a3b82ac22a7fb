import { spawn, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWebhookSender } from "../../app/delivery/http-sender.server";
import { buildSignatureHeaders, generateSigningSecret } from "../../app/delivery/signing";
import { NO_CODE_GUIDE, RECEIVER_GUIDE } from "../../app/destinations/receiver-guide.server";
import { getTestCertificates } from "../support/test-certificates";
import { LOOPBACK_POLICY } from "./helpers";

const snippet = (id: string) => RECEIVER_GUIDE.snippets.find((s) => s.id === id)!.code;

/**
 * Serves the Node snippet, exactly as the page shows it, under plain `node` (not the test runner): a small
 * wrapper imports it and puts its handler behind HTTPS with the test certificate. The receiver's secret is
 * read from a file at each request, so a test can change it.
 */
const WRAPPER = `
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { handleTryOnWebhook } from "./tryon-webhook.mjs";
const server = createServer({ cert: readFileSync("cert.pem"), key: readFileSync("key.pem") }, (req, res) =>
  handleTryOnWebhook(req, res, readFileSync("secret.txt", "utf8")));
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`;

describe("the receiver guide", () => {
  let dir: string;
  let child: ChildProcess;
  let url: string;
  const { ca, cert, key } = getTestCertificates();
  const useSecret = (secret: string) => writeFileSync(path.join(dir, "secret.txt"), secret);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "tryon-guide-"));
    writeFileSync(path.join(dir, "tryon-webhook.mjs"), snippet("node"));
    writeFileSync(path.join(dir, "server.mjs"), WRAPPER);
    writeFileSync(path.join(dir, "cert.pem"), cert);
    writeFileSync(path.join(dir, "key.pem"), key);
    useSecret(generateSigningSecret());
    child = spawn(process.execPath, ["server.mjs"], { cwd: dir, stdio: ["ignore", "pipe", "inherit"] });
    const port = await new Promise<string>((resolve, reject) => {
      child.stdout!.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
      child.once("exit", (code) => reject(new Error(`snippet server exited with ${code}`)));
    });
    url = `https://127.0.0.1:${port}/webhooks/tryon`;
  });

  afterAll(() => {
    child?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Posts `rawBody` with the given headers and returns the status code. */
  function post(rawBody: string, headers: Record<string, string>): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, { method: "POST", ca, headers: { ...headers, "content-length": String(Buffer.byteLength(rawBody)) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end(rawBody);
    });
  }

  const sender = () => createWebhookSender({ policy: LOOPBACK_POLICY, extraCa: ca, deadlineMs: 3_000 });
  const body = JSON.stringify({ version: 1, event: "lead_captured", lead_id: "lead_1", email: "guide@example.org" });
  const send = (secrets: string[], deliveryId = `dlv_${Math.random().toString(36).slice(2)}`) =>
    sender().send({ url, body, deliveryId, event: "lead_captured", shop: "guide.myshopify.com", secrets });

  it("GIVEN the Node snippet as shown WHEN our sender delivers to it THEN it accepts with the right secret and answers 401 otherwise", async () => {
    const secret = generateSigningSecret();
    useSecret(secret);
    expect(await send([secret])).toMatchObject({ ok: true, statusCode: 200 });
    expect(await send([generateSigningSecret()])).toMatchObject({ ok: false, statusCode: 401 });
  });

  it("GIVEN a rotation overlap (two signatures in the header) THEN the snippet accepts with either secret", async () => {
    const [newer, older] = [generateSigningSecret(), generateSigningSecret()];
    for (const known of [newer, older]) {
      useSecret(known);
      expect(await send([newer, older])).toMatchObject({ ok: true, statusCode: 200 });
    }
    useSecret(generateSigningSecret());
    expect(await send([newer, older])).toMatchObject({ ok: false, statusCode: 401 });
  });

  it("GIVEN a body changed after signing, a stale timestamp or a bad signature THEN the snippet answers 401", async () => {
    const secret = generateSigningSecret();
    useSecret(secret);
    const headersAt = (seconds: number) => buildSignatureHeaders({
      deliveryId: `dlv_${seconds}`, event: "lead_captured", shop: "guide.myshopify.com", body, secrets: [secret], timestampSeconds: seconds, userAgent: "test",
    });
    const now = Math.floor(Date.now() / 1000);
    expect(await post(body, headersAt(now))).toBe(200);
    expect(await post(body.replace("lead_1", "lead_2"), headersAt(now + 1))).toBe(401);
    expect(await post(body, headersAt(now - 301))).toBe(401);
    expect(await post(body, { ...headersAt(now + 2), "x-tryoncloud-timestamp": "" })).toBe(401);
    expect(await post(body, { ...headersAt(now + 3), "x-tryoncloud-signature": "sha256=abc" })).toBe(401);
  });

  it("names this app's headers and the Standard Webhooks headers, and gives the five steps", () => {
    expect(RECEIVER_GUIDE.headers.map((h) => h.name)).toEqual([
      "x-tryoncloud-signature", "x-tryoncloud-timestamp", "x-tryoncloud-delivery-id", "x-tryoncloud-event", "x-tryoncloud-shop",
    ]);
    expect(RECEIVER_GUIDE.standardHeaders.map((h) => h.name)).toEqual(["webhook-id", "webhook-timestamp", "webhook-signature"]);
    expect(RECEIVER_GUIDE.steps).toHaveLength(5);
    expect(RECEIVER_GUIDE.steps.join(" ")).toMatch(/raw request body.*HMAC-SHA256.*constant time.*Reject.*Deduplicate/s);
    const expectations: Record<string, string[]> = {
      node: ["timingSafeEqual", '"x-tryoncloud-signature"', '"x-tryoncloud-timestamp"', '"x-tryoncloud-delivery-id"'],
      python: ["hmac.compare_digest", '"x-tryoncloud-signature"', '"x-tryoncloud-timestamp"', '"x-tryoncloud-delivery-id"'],
      php: ["hash_equals", "HTTP_X_TRYONCLOUD_SIGNATURE", "HTTP_X_TRYONCLOUD_TIMESTAMP", "HTTP_X_TRYONCLOUD_DELIVERY_ID"],
      ruby: ["Rack::Utils.secure_compare", "HTTP_X_TRYONCLOUD_SIGNATURE", "HTTP_X_TRYONCLOUD_TIMESTAMP", "HTTP_X_TRYONCLOUD_DELIVERY_ID"],
    };
    for (const [id, needles] of Object.entries(expectations)) {
      for (const needle of needles) expect(snippet(id).includes(needle), `${id} snippet uses ${needle}`).toBe(true);
    }
    for (const id of ["node", "python", "php", "ruby"]) expect(snippet(id)).toMatch(/split\(|explode\(/);
  });
});

/**
 * The no-code part of the guide: its set-up steps per tool, and the three signature pitfalls, each checked
 * against what the app really signs (as a tool's HMAC step would compute it), so that the advice cannot
 * drift from the signing code.
 */
describe("the no-code receiver guide", () => {
  const hmac = (key: string | Buffer, data: string | Buffer, encoding: "hex" | "base64") => createHmac("sha256", key).update(data).digest(encoding);
  const headersFor = (body: string, secrets: string[]) => buildSignatureHeaders({
    deliveryId: "dlv_nocode_1", event: "lead_captured", shop: "guide.myshopify.com", body, secrets, timestampSeconds: 1_760_000_000, userAgent: "test",
  });
  // A body as an HTTP request template renders it: spaces and line breaks that a JSON parser drops.
  const rawBody = '{\n  "email": "ana@example.com",\n  "consent": true\n}';

  it("gives set-up steps and a way to check the sender for Zapier, Make, n8n and Node-RED", () => {
    expect(NO_CODE_GUIDE.tools.map((t) => t.name)).toEqual(["Zapier", "Make", "n8n", "Node-RED"]);
    for (const tool of NO_CODE_GUIDE.tools) {
      expect(tool.steps.length, tool.name).toBeGreaterThanOrEqual(3);
      expect(tool.steps.join(" "), tool.name).toMatch(/Send test/);
      expect(tool.verify.length, tool.name).toBeGreaterThan(40);
    }
    expect(RECEIVER_GUIDE.noCode).toBe(NO_CODE_GUIDE);
    expect(NO_CODE_GUIDE.pitfalls.map((p) => p.title)).toEqual([
      "Verify the raw body, not re-serialised JSON",
      "During a rotation the header carries two values",
      "Which key each signature uses",
    ]);
  });

  it("pitfall 1: the signature matches the raw body and not the same JSON serialised again", () => {
    const secret = generateSigningSecret();
    const offered = headersFor(rawBody, [secret])["x-tryoncloud-signature"];
    const reserialised = JSON.stringify(JSON.parse(rawBody));
    expect(reserialised).not.toBe(rawBody);
    expect(offered).toBe(`sha256=${hmac(secret, rawBody, "hex")}`);
    expect(offered).not.toBe(`sha256=${hmac(secret, reserialised, "hex")}`);
    expect(NO_CODE_GUIDE.pitfalls[0].detail).toMatch(/exact bytes/);
  });

  it("pitfall 2: during a rotation each signature header carries two entries, and either secret matches one", () => {
    const [newer, older] = [generateSigningSecret(), generateSigningSecret()];
    const headers = headersFor(rawBody, [newer, older]);
    const contract = headers["x-tryoncloud-signature"].split(",").map((part) => part.trim());
    const standard = headers["webhook-signature"].split(" ");
    expect(contract).toEqual([`sha256=${hmac(newer, rawBody, "hex")}`, `sha256=${hmac(older, rawBody, "hex")}`]);
    expect(standard).toHaveLength(2);
    expect(NO_CODE_GUIDE.pitfalls[1].detail).toContain("x-tryoncloud-signature holds two entries separated by a comma");
    expect(NO_CODE_GUIDE.pitfalls[1].detail).toContain("webhook-signature two separated by a space");
  });

  it("pitfall 3: sha256= is keyed with the secret string as shown; Standard Webhooks with the base64-decoded part after whsec_", () => {
    const secret = generateSigningSecret();
    const decoded = Buffer.from(secret.slice("whsec_".length), "base64");
    const headers = headersFor(rawBody, [secret]);
    expect(headers["x-tryoncloud-signature"]).toBe(`sha256=${hmac(secret, rawBody, "hex")}`);
    expect(headers["x-tryoncloud-signature"]).not.toBe(`sha256=${hmac(decoded, rawBody, "hex")}`);
    const signed = `dlv_nocode_1.1760000000.${rawBody}`;
    expect(headers["webhook-signature"]).toBe(`v1,${hmac(decoded, signed, "base64")}`);
    expect(headers["webhook-signature"]).not.toBe(`v1,${hmac(secret, signed, "base64")}`);
    expect(NO_CODE_GUIDE.pitfalls[2].detail).toMatch(/exactly as shown, whsec_ included.*base64-decoding the part after whsec_/s);
  });
});
