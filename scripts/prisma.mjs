#!/usr/bin/env node
// Runs the Prisma CLI with its JavaScript schema engine and the query compiler, so nothing is fetched
// from outside the npm registry. Loads .env first, as the app does.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";

if (existsSync(".env")) process.loadEnvFile(".env");
const cli = createRequire(import.meta.url).resolve("prisma/build/index.js");
// Prisma checks that native engines exist before any command; they are never run with engine "js"
// and engineType "client", so point it at a harmless executable instead of letting it download one.
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.execPath,
  PRISMA_QUERY_ENGINE_LIBRARY: process.execPath,
  PRISMA_HIDE_UPDATE_MESSAGE: "1",
  CHECKPOINT_DISABLE: "1",
};
const result = spawnSync(process.execPath, [cli, ...process.argv.slice(2)], { stdio: "inherit", env });
process.exit(result.status ?? 1);
