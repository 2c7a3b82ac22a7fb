import { z } from "zod";

/**
 * Every setting the app reads, parsed and validated in one place. Nothing else reads `process.env`.
 * `loadConfig` is pure so that tests can feed it any environment; `getConfig` parses the real one once.
 */

const encryptionKeys = z
  .string({ required_error: "is required: comma-separated VERSION:BASE64 entries, e.g. 1:<32 random bytes in base64>" })
  .transform((raw, ctx) => {
    const keys = new Map<number, Buffer>();
    for (const entry of raw.split(",").map((s) => s.trim()).filter(Boolean)) {
      const match = /^(\d+):([A-Za-z0-9+/=_-]+)$/.exec(entry);
      if (!match) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: "each entry must look like VERSION:BASE64 (e.g. 1:q83v...)" });
        return z.NEVER;
      }
      const key = Buffer.from(match[2], "base64");
      if (key.length !== 32) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `key version ${match[1]} must decode to 32 bytes, got ${key.length}` });
        return z.NEVER;
      }
      keys.set(Number(match[1]), key);
    }
    if (keys.size === 0) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: "must hold at least one key" });
      return z.NEVER;
    }
    return keys;
  });

/**
 * A duration: whole milliseconds (`1500`) or a number with a unit (`500ms`, `30s`, `5m`, `2h`, `1d`).
 * Settings of time take this form so that `RETRY_SCHEDULE=1m,5m` and `ATTEMPT_TIMEOUT=10s` read naturally.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!match) return null;
  const ms = Number(match[1]) * UNIT_MS[match[2] ?? "ms"];
  return Number.isFinite(ms) ? Math.round(ms) : null;
}

function duration(defaultValue: string, bounds: { min: number; max: number }) {
  return z
    .string()
    .default(defaultValue)
    .transform((raw, ctx) => {
      const ms = parseDuration(raw);
      if (ms === null) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: "must be a duration such as 1500, 500ms, 30s, 5m, 2h or 1d" });
        return z.NEVER;
      }
      if (ms < bounds.min || ms > bounds.max) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be between ${bounds.min} ms and ${bounds.max} ms, got ${ms} ms` });
        return z.NEVER;
      }
      return ms;
    });
}

function count(defaultValue: number, min: number, max: number, unit = "") {
  return wholeNumber(unit, min, max).default(String(defaultValue));
}

/** `LIMIT/WINDOW`, e.g. `600/1m`: at most LIMIT submissions per WINDOW. */
function rateRule(defaultValue: string) {
  return z
    .string()
    .default(defaultValue)
    .transform((raw, ctx) => {
      const [limitText, windowText, extra] = raw.split("/");
      const limit = Number(limitText);
      const windowMs = windowText === undefined ? null : parseDuration(windowText);
      if (extra !== undefined || !Number.isInteger(limit) || limit < 1 || windowMs === null || windowMs < 1_000) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: "must look like LIMIT/WINDOW, e.g. 600/1m (a whole number of at least 1, a window of at least 1s)" });
        return z.NEVER;
      }
      return { limit, windowMs };
    });
}

const DAY = 86_400_000;

const schema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    SHOPIFY_API_KEY: z.string({ required_error: "is required (the app's client id)" }).min(1, "must not be empty"),
    SHOPIFY_API_SECRET: z.string({ required_error: "is required (the app's client secret)" }).min(1, "must not be empty"),
    SHOPIFY_APP_URL: z
      .string({ required_error: "is required (the public https URL of this app)" })
      .refine(isHttpUrl, "must be an http(s) URL such as https://app.example.com (http:// only for local use)"),
    SCOPES: z.string().default("write_customers"),
    SHOP_CUSTOM_DOMAIN: z
      .string()
      .trim()
      .toLowerCase()
      .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/, "must be a domain such as shops.example.dev (no scheme, no path)")
      .optional(),
    /** `file:` selects SQLite (the embedded default); `postgres://` or `postgresql://` selects PostgreSQL. */
    DATABASE_URL: z
      .string({ required_error: "is required, e.g. file:./dev.sqlite or postgresql://user@host/db" })
      .refine((u) => /^(file:|postgres(ql)?:\/\/)/.test(u), "must start with file: (SQLite) or postgresql:// (PostgreSQL)"),
    REDIS_URL: z
      .string()
      .default("redis://127.0.0.1:6379")
      .refine((u) => /^rediss?:\/\//.test(u), "must start with redis:// or rediss://"),
    /** Namespace of every Redis key the app writes (queues, rate limits), so several apps can share a Redis. */
    QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, "must be 1 to 40 letters, digits, - or _").default("tryon"),
    /** Master keys for secrets at rest, by version. The highest version encrypts; every listed version decrypts. */
    ENCRYPTION_KEYS: encryptionKeys,
    /** Run the delivery worker inside the web process (the single-machine default). */
    RUN_WORKER_IN_PROCESS: z
      .enum(["true", "false"], { message: "must be true or false" })
      .default("true")
      .transform((v) => v === "true"),
    /**
     * Retention of delivery history: delivery attempt records (with the receiver's response excerpts) and the
     * stored bodies of delivered webhooks are pruned once they are this many days old. The deliveries
     * themselves stay in the delivery log, and a replay rebuilds a pruned body from the lead.
     * @defaultValue 90
     */
    DELIVERY_RETENTION_DAYS: wholeNumber("days", 7, 3650).default("90"),
    /**
     * How often the pruning job runs (delivery history above, and each shop's own lead retention).
     * @defaultValue 3600 (hourly)
     */
    PRUNING_INTERVAL_SECONDS: wholeNumber("seconds", 60, 7 * 86_400).default("3600"),
    /**
     * Rows the pruning job deletes or empties per statement: small enough that no statement holds its
     * row locks for long, large enough to keep up with a busy app.
     * @defaultValue 1000
     */
    PRUNING_BATCH_SIZE: wholeNumber("rows", 10, 10_000).default("1000"),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    PORT: z.coerce.number().int().min(1).max(65535).default(3000),
    /**
     * A Redis Cluster, as comma-separated seed nodes (`host:port,host:port`). When set, queues, limits and
     * destination gates live on the cluster and REDIS_URL is not used for them.
     */
    REDIS_CLUSTER_NODES: z
      .string()
      .optional()
      .transform((raw, ctx) => {
        if (raw === undefined || raw.trim() === "") return undefined;
        const nodes = raw.split(",").map((entry) => entry.trim());
        const parsed = nodes.map((entry) => /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(entry));
        if (parsed.some((m) => !m || Number(m[2]) < 1 || Number(m[2]) > 65535)) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: "must be comma-separated host:port entries, e.g. 10.0.0.5:7000,10.0.0.6:7000" });
          return z.NEVER;
        }
        return parsed.map((m) => ({ host: m![1].replace(/^\[|\]$/g, ""), port: Number(m![2]) }));
      }),

    // ---- Delivery engine -------------------------------------------------------------------------------
    /** Waits between a failed attempt and the next; one attempt more than entries. @defaultValue 1m,5m,30m,2h,6h,24h (about 33 hours) */
    RETRY_SCHEDULE: z
      .string()
      .default("1m,5m,30m,2h,6h,24h")
      .transform((raw, ctx) => {
        const delays = raw.split(",").map((part) => parseDuration(part));
        if (delays.length < 1 || delays.length > 20 || delays.some((d) => d === null || d < 1_000 || d > 7 * DAY)) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: "must be 1 to 20 comma-separated durations of 1s to 7d, e.g. 1m,5m,30m,2h,6h,24h" });
          return z.NEVER;
        }
        return delays as number[];
      }),
    /** One deadline per attempt: DNS, connect, TLS, the answer. @defaultValue 10s */
    ATTEMPT_TIMEOUT: duration("10s", { min: 500, max: 120_000 }),
    /**
     * How long a worker holds a claimed delivery (and its destination slot) before another may take it over.
     * Must exceed ATTEMPT_TIMEOUT by a margin, or a slow but live attempt could be sent twice. @defaultValue 1m
     */
    DELIVERY_LEASE: duration("1m", { min: 2_000, max: 3_600_000 }),
    /** Attempts in flight at once per worker process. Attempts wait on the network, not the CPU. @defaultValue 100 */
    DELIVERY_CONCURRENCY: count(100, 1, 2_000),
    /** Attempts in flight at once to one destination, across every worker process. @defaultValue 10 */
    DESTINATION_MAX_IN_FLIGHT: count(10, 1, 500),
    /** Consecutive failed attempts after which a destination's deliveries wait for a single probe. @defaultValue 10 */
    BREAKER_FAILURE_THRESHOLD: count(10, 1, 1_000),
    /** How long an open breaker waits before its first probe; doubled after each failed probe. @defaultValue 30s */
    BREAKER_COOLDOWN: duration("30s", { min: 100, max: DAY }),
    /** The longest wait between probes. @defaultValue 5m */
    BREAKER_MAX_COOLDOWN: duration("5m", { min: 100, max: DAY }),
    /** How often each worker process looks for deliveries and taggings that Redis lost. @defaultValue 20s */
    RECONCILE_INTERVAL: duration("20s", { min: 100, max: DAY }),
    /** How long a due item is left to its own job before the reconciler enqueues it again. @defaultValue 30s */
    RECONCILE_GRACE: duration("30s", { min: 0, max: DAY }),
    /** Entries kept in each queue's event stream (nothing of the app reads it). @defaultValue 100 */
    QUEUE_EVENTS_MAX_LEN: count(100, 0, 100_000),

    // ---- Tagging in Shopify ----------------------------------------------------------------------------
    /**
     * How long a lead's deliveries wait for the shopper to be tagged in Shopify. Past it they go out with
     * `tagged_in_shopify: false` and tagging carries on. @defaultValue 3s
     */
    TAGGING_DEADLINE: duration("3s", { min: 0, max: 600_000 }),
    /** Taggings in flight at once per worker process (each waits on Shopify). @defaultValue 50 */
    TAGGING_CONCURRENCY: count(50, 1, 1_000),

    // ---- Storefront capture ----------------------------------------------------------------------------
    /** Submissions per shop. @defaultValue 600/1m */
    CAPTURE_LIMIT_PER_SHOP: rateRule("600/1m"),
    /** Submissions per client address. @defaultValue 20/10m */
    CAPTURE_LIMIT_PER_ADDRESS: rateRule("20/10m"),
    /** Submissions per shopper email. @defaultValue 5/1h */
    CAPTURE_LIMIT_PER_EMAIL: rateRule("5/1h"),
    /**
     * Captures a web process holds waiting to be written when the database is not keeping up; past that it
     * answers 503 with Retry-After instead of holding ever more requests (PostgreSQL). @defaultValue 2000
     */
    CAPTURE_MAX_WAITING: count(2_000, 1, 100_000),

    // ---- Email alerts to merchants ---------------------------------------------------------------------
    /**
     * Where alert emails go out: `smtp://user:pass@host:587` (upgraded with STARTTLS, which a login requires
     * unless the server is on loopback) or
     * `smtps://user:pass@host:465` (TLS from the start). Unset: no email is sent, and the settings page says so.
     * The value may hold a password: a refusal never repeats it.
     */
    SMTP_URL: optionalText(isSmtpUrl, "must be an smtp:// or smtps:// URL with a host, e.g. smtps://user:password@smtp.example.com:465"),
    /** The sender of alert emails: `alerts@example.com` or `Try-on Leads <alerts@example.com>`. Required with SMTP_URL. */
    MAIL_FROM: optionalText(isMailbox, "must be an email address, or a name and an address like Try-on Leads <alerts@example.com>"),
    /** Minutes a destination fails without a success in between before the merchant is emailed. @defaultValue 30 */
    ALERT_FAILING_AFTER_MINUTES: wholeNumber("minutes", 1, 10_080).default("30"),
    /** After a "failing" email about a destination, hours before another may go out about it. @defaultValue 6 */
    ALERT_QUIET_HOURS: wholeNumber("hours", 1, 168).default("6"),
    /** How often a worker looks for destinations to email about. @defaultValue 1m */
    ALERT_CHECK_INTERVAL: duration("1m", { min: 100, max: DAY }),

    // ---- Processes -------------------------------------------------------------------------------------
    /** How long a process may take to stop on SIGTERM before it exits anyway. @defaultValue 20s */
    SHUTDOWN_TIMEOUT: duration("20s", { min: 100, max: 600_000 }),
    /**
     * How many proxies in front of the app append to X-Forwarded-For (Shopify's app proxy counts as one,
     * and so does each load balancer of the host): the storefront client's address, for rate limits, is
     * read that many entries from the right. 0 (the default outside production) trusts no header and uses
     * the socket's peer. Required in production, where a wrong guess either lets any client rotate its
     * address or counts every shopper as the load balancer. See the README, "Running behind a proxy".
     */
    TRUSTED_PROXY_HOPS: z
      .string()
      .regex(/^\d{1,2}$/, "must be a whole number of proxies from 0 to 99, e.g. 2 for Shopify's app proxy plus one load balancer")
      .transform(Number)
      .optional(),

    // ---- Operations ------------------------------------------------------------------------------------
    /**
     * The bearer token Prometheus presents to scrape /metrics (`Authorization: Bearer <token>`), at least 24
     * characters. Without it the web process answers /metrics with 404, and worker processes serve theirs openly
     * on their own port (WORKER_HTTP_PORT), which is meant to be private.
     */
    METRICS_TOKEN: optionalText((token) => /^[\x21-\x7e]{24,200}$/.test(token), "must be 24 to 200 printable characters without spaces, e.g. $(openssl rand -hex 32)"),
    /**
     * The port each worker process (`npm run worker`) serves /metrics, /healthz and /readyz on; 0 turns it off.
     * Several worker processes on one machine each need their own. @defaultValue 9464
     */
    WORKER_HTTP_PORT: wholeNumber("", 0, 65535).default("9464"),
  })
  .superRefine((env, ctx) => {
    if (env.DELIVERY_LEASE < env.ATTEMPT_TIMEOUT + 1_000) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom, path: ["DELIVERY_LEASE"],
        message: `must exceed ATTEMPT_TIMEOUT (${env.ATTEMPT_TIMEOUT} ms) by at least 1s, or a slow attempt could be sent twice`,
      });
    }
    if (env.BREAKER_MAX_COOLDOWN < env.BREAKER_COOLDOWN) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["BREAKER_MAX_COOLDOWN"], message: "must be at least BREAKER_COOLDOWN" });
    }
    if (env.SMTP_URL && !env.MAIL_FROM) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["MAIL_FROM"], message: "is required with SMTP_URL: the address alert emails are sent from" });
    }
    if (env.NODE_ENV === "production" && env.TRUSTED_PROXY_HOPS === undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["TRUSTED_PROXY_HOPS"],
        message: "is required in production: the number of proxies in front of the app, counting Shopify's app proxy (see the README, \"Running behind a proxy\")",
      });
    }
  });

/** A whole number in [min, max] given as text; the message says which unit and range are expected. */
function wholeNumber(unit: string, min: number, max: number) {
  const message = `must be a whole number ${unit ? `of ${unit} ` : ""}from ${min} to ${max}`;
  return z
    .string()
    .regex(/^\d+$/, message)
    .transform(Number)
    .refine((n) => n >= min && n <= max, message);
}

/** An optional text setting: blank counts as unset, surrounding spaces are dropped, the rest must pass `valid`. */
function optionalText(valid: (value: string) => boolean, message: string) {
  return z
    .string()
    .optional()
    .transform((raw) => (raw === undefined || raw.trim() === "" ? undefined : raw.trim()))
    .refine((value) => value === undefined || valid(value), message);
}

function isSmtpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "smtp:" || url.protocol === "smtps:") && url.hostname !== "";
  } catch {
    return false;
  }
}

const ADDRESS = /^[^\s@<>()",;:]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

/** `a@b.example` or `Name <a@b.example>` (a display name without quotes, brackets or line breaks). */
function isMailbox(value: string): boolean {
  const named = /^([^<>"\r\n]{1,100}?)\s*<([^<>]+)>$/.exec(value);
  const address = named ? named[2] : value;
  return address.length <= 254 && ADDRESS.test(address);
}

function isHttpUrl(value: string): boolean {
  try {
    return ["https:", "http:"].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

export type AppConfig = Omit<z.infer<typeof schema>, "ENCRYPTION_KEYS" | "TRUSTED_PROXY_HOPS"> & {
  ENCRYPTION_KEYS: Map<number, Buffer>;
  TRUSTED_PROXY_HOPS: number;
  databaseProvider: "sqlite" | "postgresql";
  currentKeyVersion: number;
};

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`));
  }
  const data = parsed.data;
  return {
    ...data,
    TRUSTED_PROXY_HOPS: data.TRUSTED_PROXY_HOPS ?? 0,
    databaseProvider: data.DATABASE_URL.startsWith("file:") ? "sqlite" : "postgresql",
    currentKeyVersion: Math.max(...data.ENCRYPTION_KEYS.keys()),
  };
}

let cached: AppConfig | undefined;

export function getConfig(): AppConfig {
  cached ??= loadConfig(process.env);
  return cached;
}
