import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../app/lib/config.server";

const key = randomBytes(32).toString("base64");
const valid = {
  SHOPIFY_API_KEY: "k",
  SHOPIFY_API_SECRET: "s",
  SHOPIFY_APP_URL: "https://app.example.com",
  DATABASE_URL: "file:./dev.sqlite",
  ENCRYPTION_KEYS: `1:${key}`,
};

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected the configuration to be refused");
}

describe("configuration", () => {
  it("parses a complete environment with defaults", () => {
    const config = loadConfig(valid);
    expect(config.databaseProvider).toBe("sqlite");
    expect(config.REDIS_URL).toBe("redis://127.0.0.1:6379");
    expect(config.RUN_WORKER_IN_PROCESS).toBe(true);
    expect(config.currentKeyVersion).toBe(1);
    expect(config.ENCRYPTION_KEYS.get(1)).toHaveLength(32);
    expect(config).toMatchObject({ DELIVERY_RETENTION_DAYS: 90, PRUNING_INTERVAL_SECONDS: 3600, PRUNING_BATCH_SIZE: 1000 });
  });

  it("reads the retention settings as numbers", () => {
    const config = loadConfig({ ...valid, DELIVERY_RETENTION_DAYS: "30", PRUNING_INTERVAL_SECONDS: "600", PRUNING_BATCH_SIZE: "250" });
    expect(config).toMatchObject({ DELIVERY_RETENTION_DAYS: 30, PRUNING_INTERVAL_SECONDS: 600, PRUNING_BATCH_SIZE: 250 });
  });

  it("selects PostgreSQL from a postgresql:// URL", () => {
    expect(loadConfig({ ...valid, DATABASE_URL: "postgresql://u@h:5432/d" }).databaseProvider).toBe("postgresql");
  });

  it.each([
    ["SHOPIFY_API_KEY", undefined, /^SHOPIFY_API_KEY is required/],
    ["SHOPIFY_API_SECRET", "", /^SHOPIFY_API_SECRET must not be empty/],
    ["SHOPIFY_APP_URL", "not a url", /^SHOPIFY_APP_URL must be an http\(s\) URL/],
    ["DATABASE_URL", "mysql://x", /^DATABASE_URL must start with file: \(SQLite\) or postgresql:\/\//],
    ["REDIS_URL", "http://localhost", /^REDIS_URL must start with redis:\/\//],
    ["ENCRYPTION_KEYS", undefined, /^ENCRYPTION_KEYS is required/],
    ["ENCRYPTION_KEYS", "1:c2hvcnQ=", /^ENCRYPTION_KEYS key version 1 must decode to 32 bytes, got 5/],
    ["ENCRYPTION_KEYS", "abc", /^ENCRYPTION_KEYS each entry must look like VERSION:BASE64/],
    ["RUN_WORKER_IN_PROCESS", "yes", /^RUN_WORKER_IN_PROCESS must be true or false/],
    ["PORT", "70000", /^PORT /],
    ["DELIVERY_RETENTION_DAYS", "3", /^DELIVERY_RETENTION_DAYS must be a whole number of days from 7 to 3650/],
    ["DELIVERY_RETENTION_DAYS", "90.5", /^DELIVERY_RETENTION_DAYS must be a whole number of days from 7 to 3650/],
    ["PRUNING_INTERVAL_SECONDS", "10", /^PRUNING_INTERVAL_SECONDS must be a whole number of seconds from 60 to 604800/],
    ["PRUNING_BATCH_SIZE", "lots", /^PRUNING_BATCH_SIZE must be a whole number of rows from 10 to 10000/],
    ["PRUNING_BATCH_SIZE", "50000", /^PRUNING_BATCH_SIZE must be a whole number of rows from 10 to 10000/],
  ])("names the setting when %s is missing or malformed", (name, value, message) => {
    const problems = problemsOf({ ...valid, [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it("lists every problem at once, and the message never echoes a secret value", () => {
    try {
      loadConfig({ SHOPIFY_API_SECRET: "super-secret-value", ENCRYPTION_KEYS: "1:bm90LTMyLWJ5dGVz" });
      throw new Error("expected a ConfigError");
    } catch (error) {
      const e = error as ConfigError;
      expect(e.problems.map((p) => p.split(" ")[0]).sort()).toEqual(["DATABASE_URL", "ENCRYPTION_KEYS", "SHOPIFY_API_KEY", "SHOPIFY_APP_URL"]);
      expect(e.message).not.toContain("super-secret-value");
      expect(e.message).not.toContain("bm90LTMyLWJ5dGVz");
    }
  });

  it("counts trusted proxy hops from TRUSTED_PROXY_HOPS: none by default outside production", () => {
    expect(loadConfig(valid).TRUSTED_PROXY_HOPS).toBe(0);
    expect(loadConfig({ ...valid, TRUSTED_PROXY_HOPS: "2" }).TRUSTED_PROXY_HOPS).toBe(2);
    expect(loadConfig({ ...valid, NODE_ENV: "production", TRUSTED_PROXY_HOPS: "0" }).TRUSTED_PROXY_HOPS).toBe(0);
  });

  it.each([
    ["a negative number", "-1"],
    ["a fraction", "1.5"],
    ["a word", "two"],
    ["an empty value", ""],
  ])("refuses TRUSTED_PROXY_HOPS as %s, naming it", (_name, value) => {
    const problems = problemsOf({ ...valid, TRUSTED_PROXY_HOPS: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^TRUSTED_PROXY_HOPS must be a whole number of proxies/);
  });

  it("requires TRUSTED_PROXY_HOPS in production, where no default fits every host", () => {
    const problems = problemsOf({ ...valid, NODE_ENV: "production" });
    expect(problems).toEqual([expect.stringMatching(/^TRUSTED_PROXY_HOPS is required in production/)]);
  });

  it("uses the highest key version for new encryptions while keeping older ones", () => {
    const k2 = randomBytes(32).toString("base64");
    const config = loadConfig({ ...valid, ENCRYPTION_KEYS: `1:${key},2:${k2}` });
    expect(config.currentKeyVersion).toBe(2);
    expect([...config.ENCRYPTION_KEYS.keys()].sort()).toEqual([1, 2]);
  });
});

describe("configuration: delivery engine, tagging, capture limits and processes", () => {
  it("has defaults sized for work that waits on the network, and the published retry schedule", () => {
    const config = loadConfig(valid);
    expect(config).toMatchObject({
      RETRY_SCHEDULE: [60_000, 300_000, 1_800_000, 7_200_000, 21_600_000, 86_400_000],
      ATTEMPT_TIMEOUT: 10_000, DELIVERY_LEASE: 60_000, DELIVERY_CONCURRENCY: 100, DESTINATION_MAX_IN_FLIGHT: 10,
      BREAKER_FAILURE_THRESHOLD: 10, BREAKER_COOLDOWN: 30_000, BREAKER_MAX_COOLDOWN: 300_000,
      RECONCILE_INTERVAL: 20_000, RECONCILE_GRACE: 30_000, QUEUE_EVENTS_MAX_LEN: 100,
      TAGGING_DEADLINE: 3_000, TAGGING_CONCURRENCY: 50, SHUTDOWN_TIMEOUT: 20_000,
      CAPTURE_LIMIT_PER_SHOP: { limit: 600, windowMs: 60_000 },
      CAPTURE_LIMIT_PER_ADDRESS: { limit: 20, windowMs: 600_000 },
      CAPTURE_LIMIT_PER_EMAIL: { limit: 5, windowMs: 3_600_000 },
    });
    expect(config.REDIS_CLUSTER_NODES).toBeUndefined();
  });

  it("reads durations with units, a schedule, limits and cluster nodes", () => {
    const config = loadConfig({
      ...valid, RETRY_SCHEDULE: "10s, 1m,1.5h", ATTEMPT_TIMEOUT: "4500ms", DELIVERY_LEASE: "30s", TAGGING_DEADLINE: "0",
      CAPTURE_LIMIT_PER_SHOP: "1000/30s", REDIS_CLUSTER_NODES: "10.0.0.5:7000, redis-b:7001,[::1]:7002",
    });
    expect(config).toMatchObject({
      RETRY_SCHEDULE: [10_000, 60_000, 5_400_000], ATTEMPT_TIMEOUT: 4_500, DELIVERY_LEASE: 30_000, TAGGING_DEADLINE: 0,
      CAPTURE_LIMIT_PER_SHOP: { limit: 1000, windowMs: 30_000 },
      REDIS_CLUSTER_NODES: [{ host: "10.0.0.5", port: 7000 }, { host: "redis-b", port: 7001 }, { host: "::1", port: 7002 }],
    });
  });

  it.each([
    ["ATTEMPT_TIMEOUT", "ten seconds", /^ATTEMPT_TIMEOUT must be a duration such as/],
    ["ATTEMPT_TIMEOUT", "10", /^ATTEMPT_TIMEOUT must be between 500 ms and 120000 ms, got 10 ms/],
    ["RETRY_SCHEDULE", "1m,,5m", /^RETRY_SCHEDULE must be 1 to 20 comma-separated durations/],
    ["RETRY_SCHEDULE", "1m,30d", /^RETRY_SCHEDULE must be 1 to 20 comma-separated durations/],
    ["DELIVERY_CONCURRENCY", "0", /^DELIVERY_CONCURRENCY must be a whole number from 1 to 2000/],
    ["DESTINATION_MAX_IN_FLIGHT", "2.5", /^DESTINATION_MAX_IN_FLIGHT must be a whole number from 1 to 500/],
    ["CAPTURE_LIMIT_PER_EMAIL", "5", /^CAPTURE_LIMIT_PER_EMAIL must look like LIMIT\/WINDOW/],
    ["CAPTURE_LIMIT_PER_EMAIL", "0/1h", /^CAPTURE_LIMIT_PER_EMAIL must look like LIMIT\/WINDOW/],
    ["REDIS_CLUSTER_NODES", "10.0.0.5", /^REDIS_CLUSTER_NODES must be comma-separated host:port entries/],
    ["REDIS_CLUSTER_NODES", "a:1,b:99999", /^REDIS_CLUSTER_NODES must be comma-separated host:port entries/],
  ])("refuses %s=%j, naming it and why", (name, value, message) => {
    const problems = problemsOf({ ...valid, [name]: value });
    expect(problems).toEqual([expect.stringMatching(message)]);
  });

  it("refuses a lease that does not outlast the attempt timeout, which would send a slow attempt twice", () => {
    expect(problemsOf({ ...valid, ATTEMPT_TIMEOUT: "30s", DELIVERY_LEASE: "30s" })).toEqual([
      expect.stringMatching(/^DELIVERY_LEASE must exceed ATTEMPT_TIMEOUT \(30000 ms\) by at least 1s/),
    ]);
  });

  it("refuses a longest breaker wait shorter than the first", () => {
    expect(problemsOf({ ...valid, BREAKER_COOLDOWN: "10m", BREAKER_MAX_COOLDOWN: "5m" })).toEqual([
      expect.stringMatching(/^BREAKER_MAX_COOLDOWN must be at least BREAKER_COOLDOWN/),
    ]);
  });
});

describe("configuration: operations", () => {
  it("has no metrics token and a worker port of 9464 by default", () => {
    const config = loadConfig(valid);
    expect(config.METRICS_TOKEN).toBeUndefined();
    expect(config.WORKER_HTTP_PORT).toBe(9464);
  });

  it("reads a metrics token and a worker port, 0 turning the port off; an empty token is no token", () => {
    const token = randomBytes(24).toString("hex");
    expect(loadConfig({ ...valid, METRICS_TOKEN: token, WORKER_HTTP_PORT: "0" })).toMatchObject({ METRICS_TOKEN: token, WORKER_HTTP_PORT: 0 });
    expect(loadConfig({ ...valid, METRICS_TOKEN: "  " }).METRICS_TOKEN).toBeUndefined();
  });

  it("refuses a short or spaced metrics token without echoing it, and a port out of range", () => {
    for (const weak of ["short-token", "a token with spaces in it, long enough"]) {
      const problems = problemsOf({ ...valid, METRICS_TOKEN: weak });
      expect(problems).toEqual([expect.stringMatching(/^METRICS_TOKEN must be 24 to 200 printable characters/)]);
      expect(problems.join("\n")).not.toContain(weak);
    }
    expect(problemsOf({ ...valid, WORKER_HTTP_PORT: "70000" })).toEqual([expect.stringMatching(/^WORKER_HTTP_PORT must be a whole number from 0 to 65535/)]);
    expect(problemsOf({ ...valid, WORKER_HTTP_PORT: "-1" })).toEqual([expect.stringMatching(/^WORKER_HTTP_PORT /)]);
  });
});

describe("configuration: email alerts", () => {
  it("sends no email by default, and alerts after 30 minutes with a 6-hour quiet period", () => {
    const config = loadConfig(valid);
    expect(config.SMTP_URL).toBeUndefined();
    expect(config.MAIL_FROM).toBeUndefined();
    expect(config).toMatchObject({ ALERT_FAILING_AFTER_MINUTES: 30, ALERT_QUIET_HOURS: 6, ALERT_CHECK_INTERVAL: 60_000 });
  });

  it("reads an SMTP server, a sender and the alert timings", () => {
    const config = loadConfig({
      ...valid, SMTP_URL: "smtps://alerts:p%40ss@smtp.example.com:465", MAIL_FROM: "Try-on Leads <alerts@example.com>",
      ALERT_FAILING_AFTER_MINUTES: "10", ALERT_QUIET_HOURS: "12", ALERT_CHECK_INTERVAL: "30s",
    });
    expect(config).toMatchObject({
      SMTP_URL: "smtps://alerts:p%40ss@smtp.example.com:465", MAIL_FROM: "Try-on Leads <alerts@example.com>",
      ALERT_FAILING_AFTER_MINUTES: 10, ALERT_QUIET_HOURS: 12, ALERT_CHECK_INTERVAL: 30_000,
    });
    expect(loadConfig({ ...valid, SMTP_URL: "smtp://127.0.0.1:2525", MAIL_FROM: "alerts@example.com" }).SMTP_URL).toBe("smtp://127.0.0.1:2525");
  });

  it.each([
    ["SMTP_URL", "https://smtp.example.com", /^SMTP_URL must be an smtp:\/\/ or smtps:\/\/ URL/],
    ["SMTP_URL", "smtp://", /^SMTP_URL must be an smtp:\/\/ or smtps:\/\/ URL/],
    ["MAIL_FROM", "alerts", /^MAIL_FROM must be an email address/],
    ["MAIL_FROM", "Alerts <alerts@>", /^MAIL_FROM must be an email address/],
    ["ALERT_FAILING_AFTER_MINUTES", "0", /^ALERT_FAILING_AFTER_MINUTES must be a whole number of minutes from 1 to 10080/],
    ["ALERT_FAILING_AFTER_MINUTES", "half an hour", /^ALERT_FAILING_AFTER_MINUTES must be a whole number of minutes/],
    ["ALERT_QUIET_HOURS", "200", /^ALERT_QUIET_HOURS must be a whole number of hours from 1 to 168/],
    ["ALERT_CHECK_INTERVAL", "soon", /^ALERT_CHECK_INTERVAL must be a duration/],
  ])("names the setting when %s is %j", (name, value, message) => {
    const problems = problemsOf({ ...valid, MAIL_FROM: "alerts@example.com", [name]: value });
    expect(problems.some((p) => message.test(p)), problems.join("\n")).toBe(true);
  });

  it("needs a sender with an SMTP server, and never repeats the SMTP password in a message", () => {
    const problems = problemsOf({ ...valid, SMTP_URL: "smtp://alerts:hunter2-secret@smtp.example.com:587" });
    expect(problems).toEqual(["MAIL_FROM is required with SMTP_URL: the address alert emails are sent from"]);
    const malformed = problemsOf({ ...valid, SMTP_URL: "smtq://alerts:hunter2-secret@smtp.example.com", MAIL_FROM: "a@example.com" });
    expect(malformed.join("\n")).not.toContain("hunter2-secret");
  });
});
