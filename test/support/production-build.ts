import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * Builds the production bundle once per test run, before the tests start: the browser tests then load pages
 * from the same build `npm run serve` runs, with no on-the-fly dependency bundling (which, on a cold cache
 * and a busy machine, reloads pages mid-test), and the process tests run `server.mjs` on it. Both projects
 * list this set-up; they run one after the other in the runner's process, so the second finds it done.
 */
export default function buildOnce() {
  if (process.env.TRYON_TEST_BUILD_DONE) return;
  const result = spawnSync(process.execPath, [path.join(ROOT, "node_modules/@remix-run/dev/dist/cli.js"), "vite:build"], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
    timeout: 180_000,
  });
  if (result.status !== 0) throw new Error(`the production build failed:\n${result.stderr?.slice(-4000)}`);
  process.env.TRYON_TEST_BUILD_DONE = "1";
}
