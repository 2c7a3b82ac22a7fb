import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TRYON_LEAD_TAG } from "../../app/customers/tag-customer.server";
import { getConfig } from "../../app/lib/config.server";
import { getDb } from "../../app/lib/db.server";
import type { TsxChild } from "../support/child-process";
import { addEndpoint, waitFor, type TestEndpoint } from "../support/delivery";
import { FakeAdminApi } from "../support/fake-admin-api";
import { respond, startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { redisToolsMissing, startRedisCluster, type RedisCluster } from "../support/redis-servers";
import { installShop } from "../support/shopify";
import { postCapture, startServerMjs, type WebProcess } from "../support/web-process";
import { attemptsLogged, startWorkerProcess, workerLogLines } from "../support/worker-processes";

/**
 * Scale-out on a real Redis Cluster (three masters, no replicas, started by the test): storefront leads enter
 * through `server.mjs` on the production build, two worker processes tag the shoppers (against the Admin API
 * stand-in) and deliver the leads (to an HTTPS receiver on loopback), every process reaching Redis through
 * REDIS_CLUSTER_NODES alone. Separate processes share a database, so this runs on PostgreSQL.
 */

const missing = redisToolsMissing();
if (missing) console.warn(`Redis Cluster test skipped: ${missing}`);
const runs = process.env.TEST_DB === "postgres" && !missing;

const SHOPS = ["cluster-a.myshopify.com", "cluster-b.myshopify.com", "cluster-c.myshopify.com"];
const LEADS_PER_SHOP = 10;

describe.runIf(runs)("capture → tagging → delivery on a Redis Cluster with two worker processes", () => {
  const db = getDb();
  const api = new FakeAdminApi();
  let cluster: RedisCluster;
  let adminApi: { url: string; close(): Promise<void> };
  let receiver: HttpsReceiver;
  let web: WebProcess | undefined;
  const workers: TsxChild[] = [];
  const endpoints: TestEndpoint[] = [];

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    adminApi = await api.serve();
    receiver = await startHttpsReceiver();
    // Each answer takes a moment, so one worker cannot take every delivery before the other has started.
    receiver.setDefault(respond.delayed(100));
    for (const shop of SHOPS) endpoints.push(await addEndpoint(await installShop(shop), receiver.urlFor(`/crm/${shop}`)));
    receiver.setSecrets(endpoints.map((e) => e.secret));

    const env = {
      REDIS_CLUSTER_NODES: cluster.nodesSetting,
      // Nothing listens here: a connection made from REDIS_URL instead of the cluster fails the run.
      REDIS_URL: "redis://127.0.0.1:1",
      // Tagging, not the deadline, releases the deliveries: a lead sent untagged means tagging broke.
      TAGGING_DEADLINE: "30s",
      RECONCILE_INTERVAL: "1s",
      RECONCILE_GRACE: "5s",
      DELIVERY_CONCURRENCY: "2",
      TAGGING_CONCURRENCY: "2",
      TRUSTED_PROXY_HOPS: "1",
      LOG_LEVEL: "info",
    };
    [web] = await Promise.all([
      startServerMjs({ ...env, RUN_WORKER_IN_PROCESS: "false" }),
      ...[1, 2].map(async () => {
        workers.push(await startWorkerProcess({ loopbackCa: receiver.ca, adminApiUrl: adminApi.url }, env));
      }),
    ]);
  }, 180_000);

  afterAll(async () => {
    web?.kill();
    for (const worker of workers) worker.kill();
    await Promise.all([web?.exited, ...workers.map((w) => w.exited)]);
    await receiver?.close();
    await adminApi?.close();
    await cluster?.stop();
  });

  it("delivers and tags every lead, both workers take part, and the keys spread over the masters", async () => {
    const captured = await Promise.all(
      SHOPS.flatMap((shop) => Array.from({ length: LEADS_PER_SHOP }, () => postCapture(web!.url, shop))),
    );
    expect(captured.map((c) => c.status)).toEqual(captured.map(() => 201));
    const leadIds = captured.map((c) => c.leadId!);

    const deliveries = await db.delivery.findMany({ where: { leadId: { in: leadIds } }, select: { id: true, leadId: true } });
    expect(deliveries).toHaveLength(leadIds.length);
    await waitFor(
      async () => (await db.delivery.count({ where: { leadId: { in: leadIds }, status: "delivered" } })) === leadIds.length,
      60_000,
      "every lead delivered",
    );

    // Each delivery reached the receiver once, signed, tagged first (tagging released it, not the deadline).
    for (const { id, leadId } of deliveries) {
      const arrived = receiver.requests.filter((r) => r.headers["x-tryoncloud-delivery-id"] === id);
      expect(arrived, `delivery ${id}`).toHaveLength(1);
      expect(arrived[0]).toMatchObject({ contract: { verified: true }, standard: { verified: true }, svix: { verified: true } });
      expect(JSON.parse(arrived[0].body)).toMatchObject({ lead_id: leadId, tagged_in_shopify: true });
    }
    const leads = await db.lead.findMany({ where: { id: { in: leadIds } }, select: { email: true, taggingState: true, tagged: true } });
    expect(leads.every((l) => l.taggingState === "done" && l.tagged)).toBe(true);
    for (const [index, shop] of SHOPS.entries()) {
      const tagged = (api.customers.get(shop) ?? []).filter((c) => c.tags.includes(TRYON_LEAD_TAG)).map((c) => c.email);
      expect(new Set(tagged)).toEqual(new Set(captured.slice(index * LEADS_PER_SHOP, (index + 1) * LEADS_PER_SHOP).map((c) => c.email)));
    }

    // The web process counted rate limits and queued the work on the cluster: no fail-open, nothing left to the reconcilers.
    expect(workerLogLines(web!.output()).filter((l) => l.level >= 40), "warnings of the web process").toEqual([]);

    // Both processes delivered and tagged through the cluster (their own log lines say which did what).
    for (const worker of workers) {
      const lines = workerLogLines(worker.stdout());
      expect(attemptsLogged(worker.stdout()).filter((a) => a.outcome === "delivered").length, worker.stderr()).toBeGreaterThan(0);
      expect(lines.filter((l) => l.msg === "shopper tagged in Shopify").length).toBeGreaterThan(0);
      expect(lines.filter((l) => l.level >= 50), "errors logged by a worker").toEqual([]);
    }

    // Each queue's keys sit on the master of its own hash tag, and the app's keys span more than one master.
    const prefix = getConfig().QUEUE_PREFIX;
    const keysByNode = await cluster.keysByNode(`${prefix}:*`);
    const nodesWithKeys = [...keysByNode.entries()].filter(([, keys]) => keys.length > 0).map(([port]) => port);
    expect(nodesWithKeys.length).toBeGreaterThan(1);
    for (const tag of ["{deliveries}", "{tagging}"]) {
      const home = await cluster.portOfKey(tag);
      for (const [port, keys] of keysByNode) {
        const queueKeys = keys.filter((k) => k.startsWith(`${prefix}:${tag}:`));
        if (port === home) expect(queueKeys.length, `${tag} keys on their master`).toBeGreaterThan(0);
        else expect(queueKeys, `${tag} keys elsewhere`).toEqual([]);
      }
    }
  }, 120_000);

  it("answers a capture at once while the whole cluster is down, and delivers and tags its lead once the cluster is back", async () => {
    await cluster.killAll();
    const started = Date.now();
    const during = await postCapture(web!.url, SHOPS[0]);
    // The lead is stored; queueing its work failed fast (the reconcilers catch up), it did not wait for Redis.
    expect(during.status).toBe(201);
    expect(Date.now() - started).toBeLessThan(5_000);

    // The cluster comes back empty (no persistence): the reconcilers give the lead its tagging and delivery again.
    await cluster.restartAll();
    const [delivery] = await db.delivery.findMany({ where: { leadId: during.leadId } });
    await waitFor(async () => (await db.delivery.findUniqueOrThrow({ where: { id: delivery.id } })).status === "delivered", 60_000, "the lead delivered after the outage");
    await waitFor(async () => (await db.lead.findUniqueOrThrow({ where: { id: during.leadId } })).taggingState === "done", 30_000, "the lead tagged after the outage");
    const arrived = receiver.requests.filter((r) => r.headers["x-tryoncloud-delivery-id"] === delivery.id);
    expect(arrived).toHaveLength(1);
    expect(arrived[0].contract.verified).toBe(true);
  }, 120_000);
});
