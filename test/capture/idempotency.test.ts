import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { action } from "../../app/routes/proxy.capture";
import { captureLead, IdempotencyConflictError } from "../../app/capture/capture.server";
import { parseCaptureInput } from "../../app/capture/capture-input";
import { getDb, postgresPoolsOf, type Db } from "../../app/lib/db.server";
import { installShop } from "../support/shopify";
import { captureBody, proxyRequest } from "../support/app-proxy";
import type { ShopRef } from "../../app/shops/shops.server";

/**
 * An idempotency key is bound to the submission it first came with. The same key and the same submission
 * answer as the first time; the same key with another submission is a conflict that stores nothing, and
 * the widget's resend under a fresh key stores the second lead: nobody's lead is silently dropped.
 */

const SHOP = "idempotency-shop.myshopify.com";
let shop: ShopRef;

async function post(rawBody: string) {
  const response = await action({ request: proxyRequest(SHOP, null, { rawBody }), params: {}, context: {} });
  return { status: response.status, json: (await response.json()) as { ok?: true; leadId?: string; error?: { field: string; message: string } } };
}

const leadsWithKey = (idempotencyKey: string) => getDb().lead.findMany({ where: { shopId: shop.id, idempotencyKey } });

describe("idempotency keys bound to their submission, through the capture route", () => {
  beforeAll(async () => {
    shop = await installShop(SHOP);
  });

  it("GIVEN the same key: the same submission, written differently, answers the first lead with 200; another email is a 409 naming the key that stores nothing; a fresh key then stores the second lead", async () => {
    const first = captureBody();
    const stored = await post(JSON.stringify(first));
    expect(stored.status).toBe(201);
    // The same fields in another order, other spacing, text that normalises to the same NFC.
    const reordered = { ...Object.fromEntries(Object.entries(first).reverse()), email: ` ${first.email} ` };
    expect(await post(JSON.stringify(reordered, null, 2))).toEqual({ status: 200, json: { ok: true, leadId: stored.json.leadId } });

    const second = captureBody({ idempotencyKey: first.idempotencyKey });
    const conflict = await post(JSON.stringify(second));
    expect(conflict.status).toBe(409);
    expect(conflict.json.error).toEqual({ field: "idempotencyKey", message: expect.stringMatching(/already used for a different submission/) });
    expect((await leadsWithKey(first.idempotencyKey)).map((l) => l.email)).toEqual([first.email]);

    const resent = await post(JSON.stringify({ ...second, idempotencyKey: randomUUID() }));
    expect(resent.status).toBe(201);
    const both = await getDb().lead.findMany({ where: { shopId: shop.id, email: { in: [first.email, second.email] } } });
    expect(both.map((l) => l.email).sort()).toEqual([first.email, second.email].sort());
  });

  it.each([
    ["another product", { product: { id: "2", title: "Round frames", url: "https://store.example/products/round" } }],
    ["another page", { pageUrl: "https://store.example/products/aviator?ref=other" }],
    ["another try-on result", { tryOn: { resultId: "res_2" } }],
  ])("GIVEN the same key with %s THEN 409", async (_name, change) => {
    const first = captureBody();
    expect((await post(JSON.stringify(first))).status).toBe(201);
    expect((await post(JSON.stringify({ ...first, ...change }))).status).toBe(409);
    expect(await leadsWithKey(first.idempotencyKey)).toHaveLength(1);
  });

  it("GIVEN a lead stored before keys were bound to submissions THEN its key still answers as a repeat", async () => {
    const key = randomUUID();
    const legacy = await getDb().lead.create({
      data: {
        shopId: shop.id, email: "earlier@example.com", emailSearch: "earlier@example.com", productId: "p", productTitle: "P",
        productUrl: "https://store.example/p", consent: true, idempotencyKey: key,
      },
    });
    expect(legacy.submissionHash).toBeNull();
    const answer = await post(JSON.stringify(captureBody({ idempotencyKey: key })));
    expect(answer).toEqual({ status: 200, json: { ok: true, leadId: legacy.id } });
  });

  it("GIVEN two different submissions racing under one key THEN one is stored and the other is a 409", async () => {
    const key = randomUUID();
    const answers = await Promise.all([post(JSON.stringify(captureBody({ idempotencyKey: key }))), post(JSON.stringify(captureBody({ idempotencyKey: key })))]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
    expect(await leadsWithKey(key)).toHaveLength(1);
  });
});

// On PostgreSQL the capture route writes a lead in one statement (the outbox's recordInOneStatement); a
// client without the statement pools takes Prisma's transaction, the path SQLite always takes.
describe.each([
  ["the capture route's own write path", () => getDb()],
  ["Prisma's transaction path", () => getDb().$extends({}) as unknown as Db],
])("idempotency keys on %s", (pathName, dbOf) => {
  const capture = (body: Record<string, unknown>) =>
    captureLead(
      { db: dbOf(), consumeRateLimit: async () => undefined, afterCapture: async () => undefined },
      { shop, input: parseCaptureInput(JSON.stringify(body)), clientIp: null },
    );

  beforeAll(async () => {
    shop = await installShop(SHOP);
  });

  it("returns the first lead for the same submission, refuses another one, and stores each lead once", async () => {
    // The path named: one statement on PostgreSQL's own pools, Prisma's transaction otherwise.
    expect(postgresPoolsOf(dbOf()) !== null).toBe(pathName === "the capture route's own write path" && process.env.TEST_DB === "postgres");
    const first = captureBody();
    const stored = await capture(first);
    expect(stored.duplicate).toBe(false);
    expect(await capture({ ...first })).toEqual({ leadId: stored.leadId, duplicate: true });
    await expect(capture({ ...captureBody(), idempotencyKey: first.idempotencyKey })).rejects.toBeInstanceOf(IdempotencyConflictError);
    const rows = await leadsWithKey(first.idempotencyKey);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: stored.leadId, email: first.email, submissionHash: expect.any(String) });
  });

  it("refuses the loser of a race between two submissions under one key", async () => {
    const key = randomUUID();
    const results = await Promise.allSettled([capture(captureBody({ idempotencyKey: key })), capture(captureBody({ idempotencyKey: key }))]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(refused).toHaveLength(1);
    expect(refused[0].reason).toBeInstanceOf(IdempotencyConflictError);
    expect(await leadsWithKey(key)).toHaveLength(1);
  });
});
