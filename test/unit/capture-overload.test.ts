import { describe, expect, it } from "vitest";
import { isOverload } from "../../app/capture/capture.server";
import { BatcherFullError, createBatcher } from "../../app/lib/batcher";

describe("which capture failures are an overload (503 with Retry-After) rather than a fault (500)", () => {
  it("GIVEN the lead writer's waiting line is full THEN overload", async () => {
    const never = createBatcher<number, number>({ runBatch: () => new Promise<number[]>(() => undefined), maxBatch: 1, maxInFlight: 1, maxWaiting: 1 });
    void never(1);
    await new Promise((resolve) => setImmediate(resolve));
    void never(2);
    const refused = await never(3).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(BatcherFullError);
    expect(isOverload(refused)).toBe(true);
  });

  it("GIVEN Prisma could not get a connection or start a transaction in time THEN overload", () => {
    expect(isOverload(Object.assign(new Error("Timed out fetching a new connection from the connection pool"), { code: "P2024" }))).toBe(true);
    expect(isOverload(Object.assign(new Error("Transaction API error: Unable to start a transaction in the given time."), { code: "P2028" }))).toBe(true);
  });

  it("GIVEN node-postgres could not get a connection in time THEN overload", () => {
    expect(isOverload(new Error("timeout exceeded when trying to connect"))).toBe(true);
  });

  it("GIVEN a constraint violation, a syntax error or anything else THEN not an overload", () => {
    expect(isOverload(Object.assign(new Error("Unique constraint failed"), { code: "P2002" }))).toBe(false);
    expect(isOverload(Object.assign(new Error('syntax error at or near "SELEC"'), { code: "42601" }))).toBe(false);
    expect(isOverload(new Error("connection terminated unexpectedly"))).toBe(false);
    expect(isOverload("timeout exceeded when trying to connect")).toBe(false);
    expect(isOverload(undefined)).toBe(false);
  });
});
