import { randomBytes } from "node:crypto";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { createDestinationGate, verdictOf, type GateSettings } from "../../app/delivery/destination-gate.server";
import { deleteKeysUnder, testRedis } from "../support/delivery";

const redisA = testRedis("worker");
const redisB = testRedis("worker");
const prefix = `tryon-test-gate-${randomBytes(4).toString("hex")}`;
const settings: GateSettings = { maxInFlight: 2, leaseMs: 400, failureThreshold: 3, cooldownMs: 300, maxCooldownMs: 1_000, busyRecheckMs: 2_000 };

// Two gates on two connections: two worker processes sharing one Redis.
const workerA = createDestinationGate(redisA, { prefix, settings });
const workerB = createDestinationGate(redisB, { prefix, settings });

let destination: string;
beforeEach(() => {
  destination = `dst_${randomBytes(4).toString("hex")}`;
});

afterAll(async () => {
  await deleteKeysUnder(redisA, prefix);
  redisA.disconnect();
  redisB.disconnect();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function go(gate = workerA, jobId = `job-${randomBytes(3).toString("hex")}`) {
  const decision = await gate.enter(destination, jobId);
  if (decision.kind !== "go") throw new Error(`expected a slot, got ${decision.kind}/${decision.reason}`);
  return decision;
}

describe("destination gate: in-flight cap across worker processes", () => {
  it("GIVEN two attempts in flight on different workers THEN a third waits (busy) and is parked under the destination", async () => {
    await go(workerA);
    await go(workerB);
    const third = await workerA.enter(destination, "job-3");
    expect(third).toMatchObject({ kind: "wait", reason: "busy" });
    expect((await workerB.inspect(destination))).toMatchObject({ inFlight: 2, parked: 1 });
  });

  it("WHEN a slot is given back THEN the earliest parked job is handed over to wake, and the slot can be taken", async () => {
    const first = await go(workerA);
    await go(workerB);
    await workerA.enter(destination, "job-early");
    await sleep(5);
    await workerB.enter(destination, "job-late");
    const left = await workerA.leave(destination, first.token, "success");
    expect(left.wake).toEqual(["job-early"]);
    expect((await workerB.enter(destination, "job-early")).kind).toBe("go");
    expect((await workerA.inspect(destination)).parked).toBe(1);
  });

  it("GIVEN a worker that died holding a slot THEN the slot is free once its lease has ended", async () => {
    await go(workerA);
    await go(workerA);
    expect((await workerB.enter(destination, "j")).kind).toBe("wait");
    await sleep(settings.leaseMs + 50);
    expect((await workerB.enter(destination, "j")).kind).toBe("go");
  });

  it("GIVEN a destination with its own cap THEN that cap applies instead of the default", async () => {
    await workerA.enter(destination, "a", { maxInFlight: 1 });
    expect(await workerA.enter(destination, "b", { maxInFlight: 1 })).toMatchObject({ kind: "wait", reason: "busy" });
  });
});

describe("destination gate: circuit breaker", () => {
  async function fail(times: number) {
    const changes = [];
    for (let i = 0; i < times; i++) {
      const slot = await go(workerA);
      changes.push((await workerA.leave(destination, slot.token, "failure")).change.kind);
    }
    return changes;
  }

  it("GIVEN threshold-1 failures and a success THEN the count starts over and the breaker stays closed", async () => {
    await fail(2);
    const slot = await go();
    await workerA.leave(destination, slot.token, "success");
    expect(await fail(2)).toEqual(["none", "none"]);
    expect((await workerA.inspect(destination)).open).toBe(false);
  });

  it("GIVEN threshold consecutive failures THEN it opens; deliveries wait until the retry time without a slot", async () => {
    expect(await fail(3)).toEqual(["none", "none", "opened"]);
    const state = await workerA.inspect(destination);
    expect(state).toMatchObject({ open: true, consecutiveFailures: 3, inFlight: 0 });
    const waiting = await workerB.enter(destination, "job-w");
    expect(waiting).toMatchObject({ kind: "wait", reason: "open", until: state.retryAt!.getTime() });
  });

  it("WHEN the retry time has come THEN exactly one probe goes out; the others wait for it", async () => {
    await fail(3);
    await sleep(settings.cooldownMs + 20);
    const [a, b] = await Promise.all([workerA.enter(destination, "p1"), workerB.enter(destination, "p2")]);
    const decisions = [a, b].map((d) => (d.kind === "go" ? (d.probe ? "probe" : "go") : d.reason)).sort();
    expect(decisions).toEqual(["probe", "probing"]);
  });

  it("WHEN the probe succeeds THEN the breaker closes and the parked jobs are handed over to wake", async () => {
    await fail(3);
    await workerB.enter(destination, "parked-1");
    await workerB.enter(destination, "parked-2");
    await sleep(settings.cooldownMs + 20);
    const probe = await go(workerA, "probe");
    expect(probe.probe).toBe(true);
    const left = await workerA.leave(destination, probe.token, "success");
    expect(left.change.kind).toBe("closed");
    expect(left.wake.sort()).toEqual(["parked-1", "parked-2"]);
    expect((await workerB.enter(destination, "parked-1")).kind).toBe("go");
  });

  it("WHEN the probe fails THEN it stays open and the wait doubles, up to the maximum", async () => {
    await fail(3);
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { retryAt } = await workerA.inspect(destination);
      await sleep(Math.max(0, retryAt!.getTime() - Date.now()) + 20);
      const probe = await go(workerA, `probe-${i}`);
      const left = await workerA.leave(destination, probe.token, "failure");
      expect(left.change.kind).toBe("reopened");
      if (left.change.kind === "reopened") waits.push(left.change.retryAt.getTime() - Date.now());
    }
    expect(waits[0]).toBeGreaterThan(500);
    expect(waits[0]).toBeLessThanOrEqual(600);
    expect(waits[1]).toBeGreaterThan(900);
    expect(waits[2]).toBeLessThanOrEqual(1_000);
  });

  it("GIVEN neutral outcomes (a receiver refusing one body) THEN they neither open nor close the breaker", async () => {
    await fail(2);
    const slot = await go();
    await workerA.leave(destination, slot.token, "neutral");
    expect(await fail(1)).toEqual(["opened"]);
  });
});

describe("destination gate: rate", () => {
  it("GIVEN 5 requests per second with a burst of 2 THEN two go at once and the third waits about 200 ms", async () => {
    const limits = { ratePerSecond: 5, burst: 2, maxInFlight: 10 };
    const a = await workerA.enter(destination, "r1", limits);
    const b = await workerB.enter(destination, "r2", limits);
    const c = await workerA.enter(destination, "r3", limits);
    expect([a.kind, b.kind]).toEqual(["go", "go"]);
    expect(c).toMatchObject({ kind: "wait", reason: "rate" });
    const waitMs = (c as { until: number }).until - Date.now();
    expect(waitMs).toBeGreaterThan(100);
    expect(waitMs).toBeLessThanOrEqual(400);
  });

  it("WHEN a receiver answers 429 with Retry-After THEN every delivery to it waits that long, and nothing counts as a failure", async () => {
    const slot = await go();
    const { verdict, throttleMs } = verdictOf({ ok: false, statusCode: 429, retryAfterMs: 500 });
    expect(verdict).toBe("neutral");
    await workerA.leave(destination, slot.token, verdict, { throttleMs });
    const next = await workerB.enter(destination, "after-429");
    expect(next).toMatchObject({ kind: "wait", reason: "rate" });
    expect((next as { until: number }).until - Date.now()).toBeGreaterThan(400);
    expect((await workerA.inspect(destination)).consecutiveFailures).toBe(0);
  });
});

describe("destination gate: verdicts", () => {
  it.each([
    [{ ok: true }, "success"],
    [{ ok: false, statusCode: 500 }, "failure"],
    [{ ok: false }, "failure"],
    [{ ok: false, statusCode: 400, countsAgainstDestination: false }, "neutral"],
    [{ ok: false, statusCode: 429 }, "neutral"],
  ])("%j → %s", (result, verdict) => {
    expect(verdictOf(result).verdict).toBe(verdict);
  });
});
