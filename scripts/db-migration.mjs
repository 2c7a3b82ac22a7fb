#!/usr/bin/env node
// Writes a new migration for both databases from the difference between the committed migrations and
// the schema: `node scripts/db-migration.mjs <name>`. Uses a scratch SQLite file and a scratch
// PostgreSQL database as shadows, so both migration folders always describe the same models.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync, existsSync, readdirSync } from "node:fs";

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error("usage: node scripts/db-migration.mjs <snake_case_name>");
  process.exit(2);
}
const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
for (const [provider, schema, folder] of [
  ["sqlite", "prisma/schema.prisma", "prisma/migrations"],
  ["postgresql", "prisma/postgres/schema.prisma", "prisma/postgres/migrations"],
]) {
  const hasMigrations = existsSync(folder) && readdirSync(folder).some((f) => /^\d/.test(f));
  const from = hasMigrations ? ["--from-migrations", folder] : ["--from-empty"];
  const shadow = provider === "sqlite" ? "file:./.shadow.sqlite" : process.env.SHADOW_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
  const sql = execFileSync(
    process.execPath,
    ["scripts/prisma.mjs", "migrate", "diff", ...from, "--to-schema-datamodel", schema, "--script",
      ...(hasMigrations ? ["--shadow-database-url", shadow] : [])],
    { encoding: "utf8", env: { ...process.env, DATABASE_URL: shadow } },
  );
  mkdirSync(`${folder}/${stamp}_${name}`, { recursive: true });
  writeFileSync(`${folder}/${stamp}_${name}/migration.sql`, sql);
  writeFileSync(`${folder}/migration_lock.toml`, `# Written by Prisma's migrate tooling; do not edit.\nprovider = "${provider}"\n`);
  console.log(`wrote ${folder}/${stamp}_${name}/migration.sql`);
}
