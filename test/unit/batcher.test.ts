import { describe, expect, it } from "vitest";
import { BatcherFullError, createBatcher } from "../../app/lib/batcher";

/** A runBatch that records each batch it is given and answers when told to. */
function recorder(answer: (items: number[]) => number[] | Promise<number[]> = (items) => items.map((n) => n * 10)) {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  let holding = false;
  return {
    batches,
    hold() { holding = true; },
    release() { holding = false; gates.splice(0).forEach((open) => open()); },
    async runBatch(items: number[]) {
      batches.push(items);
      if (holding) await new Promise<void>((resolve) => gates.push(resolve));
      return answer(items);
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("createBatcher", () => {
  it("sends calls made in one tick as one batch and answers each caller with its own result", async () => {
    const r = recorder();
    const run = createBatcher({ runBatch: (items: number[]) => r.runBatch(items), maxBatch: 10, maxInFlight: 1 });
    const results = await Promise.all([run(1), run(2), run(3)]);
    expect(results).toEqual([10, 20, 30]);
    expect(r.batches).toEqual([[1, 2, 3]]);
  });

  it("sends a lone call at once, and groups the calls that arrive while a batch is in flight", async () => {
    const r = recorder();
    const run = createBatcher({ runBatch: (items: number[]) => r.runBatch(items), maxBatch: 10, maxInFlight: 1 });
    r.hold();
    const first = run(1);
    await settle();
    expect(r.batches).toEqual([[1]]);
    const later = [run(2), run(3), run(4)];
    await settle();
    expect(r.batches).toEqual([[1]]);
    r.release();
    await first;
    await settle();
    r.release();
    expect(await Promise.all(later)).toEqual([20, 30, 40]);
    expect(r.batches).toEqual([[1], [2, 3, 4]]);
  });

  it("never puts more than maxBatch calls in one batch, nor runs more than maxInFlight batches at once", async () => {
    const r = recorder();
    let running = 0;
    let most = 0;
    const run = createBatcher({
      runBatch: async (items: number[]) => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
        return r.runBatch(items);
      },
      maxBatch: 4,
      maxInFlight: 2,
    });
    const results = await Promise.all(Array.from({ length: 19 }, (_, i) => run(i)));
    expect(results).toEqual(Array.from({ length: 19 }, (_, i) => i * 10));
    expect(Math.max(...r.batches.map((b) => b.length))).toBeLessThanOrEqual(4);
    expect(r.batches.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 19 }, (_, i) => i));
    expect(most).toBe(2);
  });

  it("runs a failed batch again call by call, so that only the bad call fails", async () => {
    const r = recorder((items) => {
      if (items.includes(13)) throw new Error("13 is refused");
      return items.map((n) => n * 10);
    });
    const run = createBatcher({ runBatch: (items: number[]) => r.runBatch(items), maxBatch: 10, maxInFlight: 1 });
    const outcomes = await Promise.allSettled([run(11), run(12), run(13), run(14)]);
    expect(outcomes.map((o) => (o.status === "fulfilled" ? o.value : (o.reason as Error).message))).toEqual([110, 120, "13 is refused", 140]);
    expect(r.batches).toEqual([[11, 12, 13, 14], [11], [12], [13], [14]]);
  });

  it("fails every call of a batch that answers the wrong number of results, after trying each alone", async () => {
    const run = createBatcher({ runBatch: async () => [1], maxBatch: 10, maxInFlight: 1 });
    const outcomes = await Promise.allSettled([run(1), run(2)]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled"]);
    const broken = createBatcher({ runBatch: async () => [] as number[], maxBatch: 10, maxInFlight: 1 });
    await expect(broken(1)).rejects.toThrow(/answered 0 results/);
  });
});

describe("createBatcher with a waiting limit", () => {
  it("refuses a call at once when that many are already waiting, and takes calls again once they have gone out", async () => {
    const r = recorder();
    const run = createBatcher({ runBatch: (items: number[]) => r.runBatch(items), maxBatch: 2, maxInFlight: 1, maxWaiting: 3 });
    r.hold();
    const first = run(1);
    await settle();
    const waiting = [run(2), run(3), run(4)];
    await expect(run(5)).rejects.toBeInstanceOf(BatcherFullError);
    r.release();
    await first;
    await settle();
    r.release();
    await settle();
    r.release();
    expect(await Promise.all(waiting)).toEqual([20, 30, 40]);
    await expect(run(6)).resolves.toBe(60);
    expect(r.batches.flat()).not.toContain(5);
  });
});
