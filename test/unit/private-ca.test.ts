import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";

/**
 * The README tells operators whose receivers use a private CA to set NODE_EXTRA_CA_CERTS: the production
 * sender, which passes no CA of its own, must trust it, and nothing else. Node reads the variable once at
 * start, so each case is its own process.
 */

const run = promisify(execFile);
let receiver: HttpsReceiver;
let dir = "";

async function sendFromChild(env: Record<string, string>): Promise<{ ok: boolean; statusCode?: number; errorCode?: string }> {
  const { stdout } = await run(process.execPath, ["--import", "tsx", "test/support/send-once-child.ts", JSON.stringify({ url: `${receiver.url}/hook` })], {
    env: { ...process.env, ...env },
    timeout: 30_000,
  });
  return JSON.parse(stdout) as { ok: boolean; statusCode?: number; errorCode?: string };
}

describe("a receiver whose certificate comes from a private CA", () => {
  beforeAll(async () => {
    receiver = await startHttpsReceiver();
    dir = mkdtempSync(path.join(os.tmpdir(), "tryon-private-ca-"));
    writeFileSync(path.join(dir, "ca.pem"), receiver.ca);
  });
  afterAll(async () => {
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is refused by the production sender without the CA, and reached once NODE_EXTRA_CA_CERTS names it", async () => {
    const without = await sendFromChild({ NODE_EXTRA_CA_CERTS: "" });
    expect(without.ok).toBe(false);
    expect(without.errorCode).toBe("tls_error");
    const withCa = await sendFromChild({ NODE_EXTRA_CA_CERTS: path.join(dir, "ca.pem") });
    expect(withCa).toMatchObject({ ok: true, statusCode: 200 });
  }, 60_000);
});
