import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../app/lib/db.server";
import { getDb } from "../../app/lib/db.server";
import { storedKeyVersion, type KeyRing } from "../../app/lib/secret-box.server";
import { signingSecretsAt } from "../../app/destinations/endpoint-secrets.server";
import { connectEndpoint } from "../../app/destinations/endpoints.server";
import { disconnectEndpoint, rotateSigningSecret } from "../../app/destinations/endpoint-lifecycle.server";
import { keyRingFromConfig } from "../../app/destinations/key-ring.server";
import { reencryptEndpointSecrets } from "../../app/destinations/master-key-rotation.server";
import { sendTestWebhook } from "../../app/destinations/test-send.server";
import { startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { installShop } from "../support/shopify";
import { captureLogger, LOOPBACK_DESTINATION, testSendDeps } from "./helpers";

const db = getDb();
const v1 = keyRingFromConfig();
const key1 = v1.keys.get(1)!;
const key2 = randomBytes(32);
const key3 = randomBytes(32);
const key4 = randomBytes(32);
const ringWith = (entries: [number, Buffer][]): KeyRing => ({ keys: new Map(entries), currentVersion: Math.max(...entries.map(([v]) => v)) });

interface Connected {
  shop: { id: string; domain: string };
  destinationId: string;
  secrets: string[];
}

describe("master key rotation", () => {
  let receiver: HttpsReceiver;
  const live: Connected[] = [];
  let disconnectedId: string;

  beforeAll(async () => {
    receiver = await startHttpsReceiver();
    for (const name of ["mk-a", "mk-b", "mk-c"]) {
      const shop = await installShop(`${name}.myshopify.com`);
      const { endpoint, secret } = await connectEndpoint({ db, shop, url: receiver.urlFor(`/${name}`), ring: v1, destination: LOOPBACK_DESTINATION });
      live.push({ shop, destinationId: endpoint.id, secrets: [secret] });
    }
    // Shop b is in a rotation overlap: two secrets, both under key 1.
    const b = live[1];
    const rotated = await rotateSigningSecret({ db, shop: b.shop, destinationId: b.destinationId, ring: v1, overlapHours: 48 });
    b.secrets.unshift(rotated.secret);
    // Shop c disconnected its first endpoint and connected a new one; the old row keeps its ciphertext.
    const c = live[2];
    await disconnectEndpoint({ db, shop: c.shop, destinationId: c.destinationId });
    disconnectedId = c.destinationId;
    const again = await connectEndpoint({ db, shop: c.shop, url: receiver.urlFor("/mk-c2"), ring: v1, destination: LOOPBACK_DESTINATION });
    live[2] = { shop: c.shop, destinationId: again.endpoint.id, secrets: [again.secret] };
  });

  afterAll(async () => {
    await receiver.close();
  });

  async function storedVersions(id: string) {
    const row = await db.destination.findUniqueOrThrow({ where: { id } });
    return {
      current: [storedKeyVersion(row.secretCiphertext), row.secretKeyVersion],
      previous: row.previousSecretCiphertext ? [storedKeyVersion(row.previousSecretCiphertext), row.previousSecretKeyVersion] : null,
    };
  }

  it("GIVEN a new key version WHEN rotating THEN every current and previous secret is re-encrypted under it and the counts say so", async () => {
    const ids = [...live.map((c) => c.destinationId), disconnectedId];
    const before = await db.destination.findMany({ where: { id: { in: ids } } });
    const report = await reencryptEndpointSecrets({ db, ring: ringWith([[1, key1], [2, key2]]), batchSize: 2 });
    expect(report.keyVersion).toBe(2);
    expect(report.failed).toEqual([]);
    expect(report.changedConcurrently).toBe(0);
    // Only this file's rows exist in its database: 4 endpoints, 5 secrets (shop b has two).
    expect(report).toMatchObject({ endpoints: 4, reencrypted: 5, alreadyCurrent: 0 });
    for (const id of ids) {
      const versions = await storedVersions(id);
      expect(versions.current).toEqual([2, 2]);
      if (versions.previous) expect(versions.previous).toEqual([2, 2]);
    }
    const after = await db.destination.findMany({ where: { id: { in: ids } } });
    for (const row of after) expect(row.secretCiphertext).not.toBe(before.find((b) => b.id === row.id)!.secretCiphertext);
  });

  it("GIVEN the rotation ran THEN key 1 can be dropped: every endpoint signs with only key 2 configured and the receiver verifies", async () => {
    const onlyKey2 = ringWith([[2, key2]]);
    for (const connected of live) {
      receiver.setSecrets(connected.secrets.slice(-1)); // the oldest secret still in force
      const deps = { ...testSendDeps(receiver, captureLogger().logger), keyRing: onlyKey2 };
      const result = await sendTestWebhook(deps, { shop: connected.shop, destinationId: connected.destinationId });
      expect(result.outcome).toBe("delivered");
      const request = receiver.requests.at(-1)!;
      expect(request.contract.verified && request.standard.verified).toBe(true);
      const row = await db.destination.findUniqueOrThrow({ where: { id: connected.destinationId } });
      expect(signingSecretsAt(row, onlyKey2, new Date())).toEqual(connected.secrets);
    }
    const row = await db.destination.findUniqueOrThrow({ where: { id: live[0].destinationId } });
    expect(() => signingSecretsAt(row, ringWith([[1, key1]]), new Date())).toThrow(/version 2 is not configured/);
  });

  it("GIVEN it already ran WHEN run again THEN nothing is rewritten (idempotent)", async () => {
    const before = await db.destination.findMany({ orderBy: { id: "asc" } });
    const report = await reencryptEndpointSecrets({ db, ring: ringWith([[1, key1], [2, key2]]) });
    expect(report).toMatchObject({ endpoints: 4, reencrypted: 0, alreadyCurrent: 5, changedConcurrently: 0, failed: [] });
    const after = await db.destination.findMany({ orderBy: { id: "asc" } });
    expect(after.map((r) => r.secretCiphertext)).toEqual(before.map((r) => r.secretCiphertext));
  });

  it("GIVEN the merchant rotates a secret while the run is between read and write THEN the merchant's new secret is kept and the run says to go again", async () => {
    const target = live[0];
    const ring3 = ringWith([[1, key1], [2, key2], [3, key3]]);
    let merchantSecret = "";
    // The database as the run sees it, with the merchant's rotation landing right after the run's read.
    const racing = {
      destination: {
        findMany: async (args: Parameters<Db["destination"]["findMany"]>[0]) => {
          const rows = await db.destination.findMany(args);
          if (rows.some((r) => r.id === target.destinationId) && !merchantSecret) {
            merchantSecret = (await rotateSigningSecret({ db, shop: target.shop, destinationId: target.destinationId, ring: ringWith([[1, key1], [2, key2]]) })).secret;
          }
          return rows;
        },
        updateMany: (args: Parameters<Db["destination"]["updateMany"]>[0]) => db.destination.updateMany(args),
      },
    } as unknown as Db;
    const report = await reencryptEndpointSecrets({ db: racing, ring: ring3 });
    expect(report.changedConcurrently).toBe(1);
    const row = await db.destination.findUniqueOrThrow({ where: { id: target.destinationId } });
    expect(signingSecretsAt(row, ring3, new Date())).toEqual([merchantSecret]);
    target.secrets = [merchantSecret];
    const second = await reencryptEndpointSecrets({ db, ring: ring3 });
    expect(second).toMatchObject({ reencrypted: 1, changedConcurrently: 0, failed: [] });
    expect((await storedVersions(target.destinationId)).current).toEqual([3, 3]);
  });

  it("GIVEN one unreadable row THEN it is reported by endpoint id (never a secret) and the others are still re-encrypted", async () => {
    const broken = live[2];
    const original = (await db.destination.findUniqueOrThrow({ where: { id: broken.destinationId } })).secretCiphertext;
    await db.destination.update({ where: { id: broken.destinationId }, data: { secretCiphertext: original.replace(/^v\d+\./, "v9.") } });
    try {
      const report = await reencryptEndpointSecrets({ db, ring: ringWith([[1, key1], [2, key2], [3, key3], [4, key4]]) });
      expect(report.failed).toEqual([{ destinationId: broken.destinationId, reason: expect.stringMatching(/version 9 is not configured/) }]);
      expect(report.reencrypted).toBe(4);
      expect((await storedVersions(live[0].destinationId)).current).toEqual([4, 4]);
    } finally {
      await db.destination.update({ where: { id: broken.destinationId }, data: { secretCiphertext: original } });
    }
  });

  it("GIVEN `npm run secrets:rotate` (scripts/rotate-encryption-key.ts) THEN it re-encrypts under the newest configured key, reports counts, and a second run has nothing to do", async () => {
    const key5 = randomBytes(32);
    const keys = [key1, key2, key3, key4, key5].map((key, i) => `${i + 1}:${key.toString("base64")}`).join(",");
    const first = await runScript({ ENCRYPTION_KEYS: keys });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/Master key version 5: 4 endpoint\(s\) checked, 5 secret\(s\) re-encrypted, 0 already current\./);
    expect(first.stdout).toMatch(/older key versions can now be removed/);
    const second = await runScript({ ENCRYPTION_KEYS: keys });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/0 secret\(s\) re-encrypted, 5 already current\./);
    expect(first.stdout + first.stderr + second.stdout + second.stderr).not.toMatch(/whsec_/);
    // Every secret now opens with key 5 alone.
    for (const row of await db.destination.findMany()) expect(() => signingSecretsAt(row, ringWith([[5, key5]]), new Date())).not.toThrow();
  });
});

async function runScript(env: Record<string, string>): Promise<{ stdout: string; stderr: string; code: number }> {
  const root = path.resolve(import.meta.dirname, "../..");
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ["node_modules/tsx/dist/cli.mjs", "scripts/rotate-encryption-key.ts"], {
      cwd: root, env: { ...process.env, LOG_LEVEL: "silent", ...env }, timeout: 60_000,
    });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; code?: number };
    return { stdout: e.stdout ?? "", stderr: e.stderr ?? "", code: e.code ?? -1 };
  }
}
