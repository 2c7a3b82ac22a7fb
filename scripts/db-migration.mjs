#!/usr/bin/env node
// Writes a new migration for both databases: the SQL that takes the schema as of the last commit
// (git HEAD:prisma/schema.prisma) to the schema in the working tree. `node scripts/db-migration.mjs <name>`.
// Prisma compares two schema files here, with no shadow database (which its JavaScript schema engine
// cannot use together with a driver adapter). Review the SQL: for SQLite, Prisma may rebuild a table
// where an ALTER TABLE ... ADD COLUMN would do, and a rebuild can cascade-delete child rows.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error("usage: node scripts/db-migration.mjs <snake_case_name>");
  process.exit(2);
}
execFileSync(process.execPath, ["scripts/db-schemas.mjs"], { stdio: "inherit" });
const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
const scratch = mkdtempSync(path.join(os.tmpdir(), "schema-"));
for (const [provider, schema, folder] of [
  ["sqlite", "prisma/schema.prisma", "prisma/migrations"],
  ["postgresql", "prisma/postgres/schema.prisma", "prisma/postgres/migrations"],
]) {
  const before = path.join(scratch, `${provider}.prisma`);
  writeFileSync(before, execFileSync("git", ["show", `HEAD:${schema}`], { encoding: "utf8" }));
  const sql = execFileSync(
    process.execPath,
    ["scripts/prisma.mjs", "migrate", "diff", "--from-schema-datamodel", before, "--to-schema-datamodel", schema, "--script"],
    { encoding: "utf8" },
  );
  if (!sql.trim() || /This is an empty migration/.test(sql)) {
    console.log(`${provider}: no change`);
    continue;
  }
  mkdirSync(`${folder}/${stamp}_${name}`, { recursive: true });
  writeFileSync(`${folder}/${stamp}_${name}/migration.sql`, sql);
  console.log(`wrote ${folder}/${stamp}_${name}/migration.sql`);
}
