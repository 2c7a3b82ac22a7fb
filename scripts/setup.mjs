#!/usr/bin/env node
// Prepares a fresh clone on a fresh machine; safe to run again (each step checks before it acts).
//   node scripts/setup.mjs           install, .env, database
//   node scripts/setup.mjs --build   the same, plus local Redis and the production build (used by `npm start`)
//   node scripts/setup.mjs --test    install, plus Redis, PostgreSQL and Chromium for the test suite (`npm test`)
// It may start under the machine's Node 20: Node 22 comes from the `node` package in node_modules, and
// every later step runs on it.
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

const args = new Set(process.argv.slice(2));
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
process.chdir(root);
const node22 = path.join(root, "node_modules/.bin/node");
const envWithBin = { ...process.env, PATH: `${path.join(root, "node_modules/.bin")}:${process.env.PATH}` };

function run(command, argv, options = {}) {
  const result = spawnSync(command, argv, { stdio: "inherit", env: envWithBin, ...options });
  if (result.status !== 0) {
    console.error(`setup: \`${command} ${argv.join(" ")}\` failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
}

function step(message) {
  console.log(`\n▸ ${message}`);
}

// 1. Dependencies, Node 22 among them. Re-installed when the lockfile changes.
const lockHash = createHash("sha256").update(readFileSync("package-lock.json")).digest("hex");
const stampFile = "node_modules/.install-stamp";
if (!existsSync(node22) || !existsSync(stampFile) || readFileSync(stampFile, "utf8") !== lockHash) {
  // `npm install` rather than `npm ci`: it installs exactly the locked versions too, and tolerates the
  // lockfile leaving out optional packages for other platforms (which this npm writes and `ci` rejects).
  step("Installing dependencies (npm install, from package-lock.json)");
  run("npm", ["install", "--no-audit", "--no-fund"]);
  writeFileSync(stampFile, lockHash);
}
const version = spawnSync(node22, ["--version"], { encoding: "utf8" }).stdout.trim();
if (!/^v(2[2-9]|[3-9]\d)\./.test(version)) {
  console.error(`setup: expected Node 22 or newer in node_modules/.bin/node, found ${version || "nothing"}`);
  process.exit(1);
}

// 2. Local settings with fresh random keys (never committed).
if (!existsSync(".env") && !args.has("--test")) {
  step("Writing .env with fresh local keys");
  const text = readFileSync(".env.example", "utf8")
    .replace("__RANDOM_KEY__", randomBytes(32).toString("base64"))
    .replace("__RANDOM__", randomBytes(24).toString("hex"));
  writeFileSync(".env", text, { mode: 0o600 });
}

// 3. Services: Redis always for the app and the tests; PostgreSQL and Chromium for the tests.
if (args.has("--test") || args.has("--build")) {
  step("Checking services");
  run("bash", ["scripts/services.sh", args.has("--test") ? "test" : "app"]);
}

// 4. Database schema (SQLite by default) and, for `npm start`, the production build.
if (!args.has("--test")) {
  step("Applying database migrations");
  run(node22, ["--env-file-if-exists=.env", "node_modules/tsx/dist/cli.mjs", "scripts/migrate.ts"]);
}
if (args.has("--build")) {
  const built = existsSync("build/server/index.js") ? statSync("build/server/index.js").mtimeMs : 0;
  const newest = newestSourceTime(["app", "vite.config.ts", "package-lock.json"]);
  if (newest > built) {
    step("Building the app");
    run(node22, ["node_modules/@remix-run/dev/dist/cli.js", "vite:build"]);
  }
}

function newestSourceTime(entries) {
  let newest = 0;
  const walk = (p) => {
    const s = statSync(p);
    if (s.isDirectory()) {
      for (const child of readdirSync(p)) walk(path.join(p, child));
    } else newest = Math.max(newest, s.mtimeMs);
  };
  for (const e of entries) if (existsSync(e)) walk(e);
  return newest;
}
