import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";

describe("one data model for both databases", () => {
  it("keeps the PostgreSQL schema generated from the SQLite one", () => {
    // Exits 1 with a message when prisma/postgres/schema.prisma is stale.
    expect(() => execFileSync(process.execPath, ["scripts/db-schemas.mjs", "--check"], { stdio: "pipe" })).not.toThrow();
  });

  it("has the same migrations, in the same order, for SQLite and PostgreSQL", () => {
    const list = (folder: string) => readdirSync(folder).filter((f) => /^\d{14}_/.test(f)).sort();
    const sqlite = list("prisma/migrations");
    expect(sqlite.length).toBeGreaterThan(0);
    expect(list("prisma/postgres/migrations")).toEqual(sqlite);
  });
});
