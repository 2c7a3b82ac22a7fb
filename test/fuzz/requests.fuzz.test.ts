import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { action as captureAction } from "../../app/routes/proxy.capture";
import { loader as leadsPage } from "../../app/routes/app.leads._index";
import { action as exportAction } from "../../app/routes/app.leads.export";
import { action as webhookAction, loader as webhookPage } from "../../app/routes/app.leads.integrations.webhook";
import { action as privacyAction } from "../../app/routes/app.privacy._index";
import { loader as privacyDownload } from "../../app/routes/app.privacy.$requestId.download";
import { connectEndpoint } from "../../app/destinations/endpoints.server";
import { keyRingFromConfig } from "../../app/destinations/key-ring.server";
import { getDb } from "../../app/lib/db.server";
import type { AppLoadContext } from "@remix-run/node";
import { captureBody, proxyRequest } from "../support/app-proxy";
import { installShop, sessionToken } from "../support/shopify";
import { startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { LOOPBACK_POLICY, loopbackSender } from "../integrations/helpers";
import { hasControlCharacter } from "../support/hostile-strings";
import { encodeText, Random, randomBytes, randomFormText, randomJson, randomText } from "../support/fuzz-inputs";
import { TEST_APP_URL } from "../support/setup-env";

/**
 * A seeded fuzz over the storefront capture route and every admin action and page: a few thousand
 * generated requests (valid ones, mutated ones, hostile text, bytes that are no form or JSON, reused
 * idempotency keys, forged tokens). Nothing may answer 5xx or throw, no stored row may hold a control
 * character, and every lead the app acknowledged must be stored, and nothing it did not.
 * Replay a failure with FUZZ_SEED=<seed printed in the test name>.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20261203);
const CAPTURES = 1500;
const ADMIN_REQUESTS = 1500;
const IN_FLIGHT = 6;
const SHOPS = ["fuzz-a.myshopify.com", "fuzz-b.myshopify.com", "fuzz-c.myshopify.com", "fuzz-d.myshopify.com"];
const ADMIN_SHOP = SHOPS[0];

type Handler = (args: { request: Request; params: Record<string, string>; context: AppLoadContext }) => Promise<unknown>;

interface Outcome {
  status: number;
  body: string;
}

async function run(handler: Handler, request: Request, params: Record<string, string>, context: AppLoadContext): Promise<Outcome> {
  try {
    const result = await handler({ request, params, context });
    if (result instanceof Response) return { status: result.status, body: await result.text() };
    const init = (result as { init?: ResponseInit | null } | null)?.init;
    return { status: init?.status ?? 200, body: "" };
  } catch (thrown) {
    if (thrown instanceof Response) return { status: thrown.status, body: "" };
    return { status: 599, body: `threw ${thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown)}` };
  }
}

let receiver: HttpsReceiver;
let destinationId = "";
let deliveryId = "";
let dataRequestId = "";
const tokens = new Map<string, string>();

describe(`request fuzz (seed ${SEED})`, () => {
  beforeAll(async () => {
    const shops = await Promise.all(SHOPS.map((s) => installShop(s)));
    for (const shop of SHOPS) tokens.set(shop, await sessionToken(shop));
    receiver = await startHttpsReceiver();
    const db = getDb();
    const admin = shops[0];
    // One live endpoint on this machine's receiver, so pause, resume, rotate and test sends act on something.
    const connected = await connectEndpoint({
      db, shop: admin, url: `${receiver.url}/hook`, ring: keyRingFromConfig(),
      destination: { policy: LOOPBACK_POLICY, resolve: async () => [{ address: "127.0.0.1", family: 4 }] },
    });
    destinationId = connected.endpoint.id;
    deliveryId = (await db.delivery.create({ data: { shopId: admin.id, destinationId, event: "lead_captured", payload: "{}", status: "failed" } })).id;
    dataRequestId = (await db.dataRequest.create({ data: { shopId: admin.id, shopifyRequestId: "9001", customerEmail: "asked@example.com" } })).id;
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it("answers every generated request without a 5xx, stores every acknowledged lead and nothing else, and no control character", async () => {
    const r = new Random(SEED);
    // Connecting resolves every host to a documentation address: refused, and no request leaves the machine.
    const context: AppLoadContext = {
      webhookTransport: {
        destination: { policy: LOOPBACK_POLICY, resolve: async () => [{ address: "192.0.2.1", family: 4 }] },
        send: (request) => loopbackSender(receiver).send(request),
      },
    };
    const failures: string[] = [];
    const acknowledged = new Map<string, { email: string; shop: string }>();
    const answeredAsRepeat = new Set<string>();
    const leadsByKey = new Map<string, Set<string>>();
    const generated: { shop: string; key: string; body: string }[] = [];
    const statuses = new Map<number, number>();
    const note = (what: string, outcome: Outcome) => {
      statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
      if (outcome.status >= 500) failures.push(`${what} → ${outcome.status} ${outcome.body.slice(0, 300)}`);
    };

    // Generated up front from the seed, then run a few at a time (so that keys race as they would live).
    const captureJobs = Array.from({ length: CAPTURES }, (_, i) => captureJob(r, i));
    const adminJobs = Array.from({ length: ADMIN_REQUESTS }, () => adminJob(r));
    const jobs = [...captureJobs, ...adminJobs];
    for (let i = jobs.length - 1; i > 0; i--) {
      const j = r.int(i + 1);
      [jobs[i], jobs[j]] = [jobs[j], jobs[i]];
    }
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < jobs.length) await jobs[next++]();
      }),
    );

    function captureJob(r: Random, i: number) {
      let shop = r.pick(SHOPS);
      const socketAddress = `198.18.${r.int(4)}.${r.int(250)}`;
      const roll = r.next();
      let raw: string | Uint8Array;
      if (roll < 0.72) {
        const body: Record<string, unknown> = captureBody({ email: `fuzz${i}.${r.int(1e6)}@example.com` });
        for (let m = r.int(3); m > 0; m--) mutate(r, body);
        raw = JSON.stringify(body);
        if (typeof body.idempotencyKey === "string") generated.push({ shop, key: body.idempotencyKey, body: raw });
      } else if (roll < 0.82 && generated.length > 0) {
        // A key sent before: the same body again, or another submission under it.
        const seen = r.pick(generated);
        shop = seen.shop;
        raw = r.chance(0.5) ? seen.body : JSON.stringify(captureBody({ idempotencyKey: seen.key }));
      } else if (roll < 0.88) {
        raw = randomBytes(r);
      } else if (roll < 0.94) {
        raw = JSON.stringify(randomJson(r));
      } else {
        const text = JSON.stringify(captureBody());
        raw = text.slice(0, r.int(text.length));
      }
      return async () => {
        const request = new Request(proxyRequest(shop, null).url, { method: "POST", headers: { "Content-Type": "application/json" }, body: raw as BodyInit });
        const outcome = await run(captureAction as Handler, request, {}, { socketAddress });
        note(`capture ${typeof raw === "string" ? raw.slice(0, 200) : `${raw.length} bytes`}`, outcome);
        if (outcome.status !== 200 && outcome.status !== 201) return;
        const { leadId } = JSON.parse(outcome.body) as { leadId: string };
        const sent = JSON.parse(raw as string) as { email: string; idempotencyKey?: string };
        if (outcome.status === 201) acknowledged.set(leadId, { email: sent.email.normalize("NFC").trim(), shop });
        else answeredAsRepeat.add(leadId);
        if (sent.idempotencyKey) {
          const ids = leadsByKey.get(`${shop}|${sent.idempotencyKey}`) ?? new Set<string>();
          ids.add(leadId);
          leadsByKey.set(`${shop}|${sent.idempotencyKey}`, ids);
        }
      };
    }

    function adminJob(r: Random) {
      const roll = r.next();
      const forged = r.chance(0.05);
      const token = forged ? r.pick(["x.y.z", "not-a-jwt", tokens.get(ADMIN_SHOP)!.slice(0, -3) + "abc"]) : tokens.get(ADMIN_SHOP)!;
      const headers = new Headers({ Authorization: `Bearer ${token}` });
      const post = (path: string, names: string[], fixed: Record<string, string>) => {
        if (r.chance(0.15)) {
          headers.set("Content-Type", r.pick(["application/json", "text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"]));
          return new Request(new URL(path, TEST_APP_URL), { method: "POST", headers, body: randomBytes(r) as BodyInit });
        }
        headers.set("Content-Type", "application/x-www-form-urlencoded");
        return new Request(new URL(path, TEST_APP_URL), { method: "POST", headers, body: randomFormText(r, names, fixed) });
      };
      const get = (path: string, names: string[]) => new Request(new URL(`${path}?${randomFormText(r, names)}`, TEST_APP_URL), { headers });
      const anId = () => (r.chance(0.5) ? destinationId : randomText(r));
      let handler: Handler;
      let request: Request;
      let params: Record<string, string> = {};
      if (roll < 0.3) {
        const intent = r.pick(["connect", "rotate", "pause", "resume", "send_test", "replay", "count_failed", "replay_failed", "disconnect", randomText(r)]);
        const fixed: Record<string, string> = { intent };
        // Never the live endpoint's id for a disconnect: the other intents keep something to act on.
        if (intent !== "disconnect") fixed.destinationId = anId();
        if (intent === "replay") fixed.deliveryId = r.chance(0.5) ? deliveryId : randomText(r);
        handler = webhookAction as Handler;
        request = post("/app/leads/integrations/webhook", ["url", "destinationId", "deliveryId", "since", "overlapHours", "intent"], fixed);
      } else if (roll < 0.5) {
        handler = exportAction as Handler;
        request = post("/app/leads/export", ["q", "product", "from", "to"], {});
      } else if (roll < 0.62) {
        const intent = r.pick(["complete", "redaction-events", randomText(r)]);
        handler = privacyAction as Handler;
        request = post("/app/privacy", ["requestId", "enabled", "intent"], intent === "complete" && r.chance(0.1) ? { intent, requestId: dataRequestId } : { intent });
      } else if (roll < 0.8) {
        handler = leadsPage as Handler;
        request = get("/app/leads", ["q", "product", "from", "to", "after", "before"]);
      } else if (roll < 0.93) {
        handler = webhookPage as Handler;
        request = get("/app/leads/integrations/webhook", ["status", "from", "to", "lead", "after"]);
      } else {
        const requestId = r.chance(0.3) ? dataRequestId : randomText(r);
        handler = privacyDownload as Handler;
        request = new Request(new URL(`/app/privacy/${encodeText(requestId)}/download`, TEST_APP_URL), { headers });
        params = { requestId };
      }
      return async () => note(`${request.method} ${new URL(request.url).pathname}${new URL(request.url).search.slice(0, 200)}`, await run(handler, request, params, context));
    }

    expect(failures.slice(0, 10)).toEqual([]);
    console.log(`fuzz seed ${SEED}: ${[...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(" ")}`);

    // Every lead the app acknowledged is stored as sent, and nothing it did not acknowledge.
    const db = getDb();
    const stored = await db.lead.findMany({ where: { shop: { domain: { in: SHOPS } } }, include: { shop: { select: { domain: true } } } });
    expect(stored.length).toBe(acknowledged.size);
    for (const lead of stored) {
      expect(acknowledged.get(lead.id)).toEqual({ email: lead.email, shop: lead.shop.domain });
    }
    expect(acknowledged.size).toBeGreaterThan(CAPTURES / 3);
    // A repeat answers with the lead its key first stored; one key never stands for two leads.
    const storedIds = new Set(stored.map((l) => l.id));
    expect([...answeredAsRepeat].filter((id) => !storedIds.has(id))).toEqual([]);
    expect(answeredAsRepeat.size).toBeGreaterThan(0);
    expect([...leadsByKey].filter(([, ids]) => ids.size > 1)).toEqual([]);

    // No stored text holds a control character, in any table the requests could write.
    const rows: unknown[] = [
      ...stored,
      ...(await db.triedProduct.findMany()),
      ...(await db.destination.findMany()),
      ...(await db.delivery.findMany()),
      ...(await db.deliveryAttempt.findMany()),
      ...(await db.dataRequest.findMany()),
      ...(await db.shop.findMany()),
    ];
    const dirty = rows.flatMap((row) =>
      Object.entries(row as Record<string, unknown>).filter(([, v]) => typeof v === "string" && hasControlCharacter(v)).map(([k]) => k),
    );
    expect(dirty).toEqual([]);
  }, 120_000);
});

const CAPTURE_PATHS: string[][] = [
  ["email"], ["consent"], ["product"], ["product", "id"], ["product", "title"], ["product", "url"], ["product", "variant"],
  ["product", "variant", "id"], ["product", "variant", "title"], ["tryOn"], ["tryOn", "model"], ["utm"], ["utm", "source"],
  ["pageUrl"], ["idempotencyKey"], ["locale"], ["unknownField"],
];

/** Replaces, retypes or removes one field of a capture body. */
function mutate(r: Random, body: Record<string, unknown>) {
  const path = r.pick(CAPTURE_PATHS);
  let target = body;
  for (const key of path.slice(0, -1)) {
    if (typeof target[key] !== "object" || target[key] === null) target[key] = {};
    target = target[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  const roll = r.next();
  if (roll < 0.15) delete target[last];
  else if (roll < 0.75) target[last] = last === "idempotencyKey" && r.chance(0.5) ? randomUUID() : randomText(r);
  else target[last] = randomJson(r);
}
