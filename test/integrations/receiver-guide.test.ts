import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWebhookSender } from "../../app/delivery/http-sender.server";
import { buildSignatureHeaders, generateSigningSecret } from "../../app/delivery/signing";
import { RECEIVER_GUIDE } from "../../app/destinations/receiver-guide.server";
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
