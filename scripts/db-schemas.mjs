// Writes prisma/postgres/schema.prisma from prisma/schema.prisma: same models, PostgreSQL datasource,
// its own client output. `--check` exits 1 when the committed file is out of date.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";

const source = readFileSync("prisma/schema.prisma", "utf8");
const postgres = source
  .replace('provider = "sqlite"', 'provider = "postgresql"')
  .replace('output          = "../node_modules/.prisma-clients/sqlite"', 'output          = "../../node_modules/.prisma-clients/postgres"');
const header = "// GENERATED from ../schema.prisma by scripts/db-schemas.mjs: edit that file, then run `npm run db:schemas`.\n";
const wanted = header + postgres;

if (process.argv.includes("--check")) {
  const current = readFileSync("prisma/postgres/schema.prisma", "utf8");
  if (current !== wanted) {
    console.error("prisma/postgres/schema.prisma is out of date: run npm run db:schemas");
    process.exit(1);
  }
} else {
  mkdirSync("prisma/postgres", { recursive: true });
  writeFileSync("prisma/postgres/schema.prisma", wanted);
}
