import { defineConfig } from "vitest/config";
import tsconfigPaths from "vite-tsconfig-paths";

// Every suite runs twice: on SQLite (the embedded default) and on PostgreSQL (production).
// Browser tests run once, on SQLite. Real Redis and real HTTP on loopback throughout.
const shared = {
  setupFiles: ["test/support/setup-env.ts"],
  testTimeout: 30_000,
  hookTimeout: 60_000,
  pool: "forks" as const,
};

export default defineConfig({
  plugins: [tsconfigPaths()],
  test: {
    reporters: ["default"],
    projects: [
      {
        plugins: [tsconfigPaths()],
        test: {
          ...shared,
          name: "sqlite",
          include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
          env: { TEST_DB: "sqlite" },
          globalSetup: ["test/support/production-build.ts"],
        },
      },
      {
        plugins: [tsconfigPaths()],
        test: {
          ...shared,
          name: "postgres",
          include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
          exclude: ["test/**/*.browser.test.ts", "test/unit/**"],
          env: { TEST_DB: "postgres" },
          globalSetup: ["test/support/production-build.ts", "test/support/postgres-template.ts"],
        },
      },
    ],
  },
});
