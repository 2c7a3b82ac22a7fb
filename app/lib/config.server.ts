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

const schema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    SHOPIFY_API_KEY: z.string({ required_error: "is required (the app's client id)" }).min(1, "must not be empty"),
    SHOPIFY_API_SECRET: z.string({ required_error: "is required (the app's client secret)" }).min(1, "must not be empty"),
    SHOPIFY_APP_URL: z
      .string({ required_error: "is required (the public https URL of this app)" })
      .refine(isHttpUrl, "must be an http(s) URL such as https://app.example.com (http:// only for local use)"),
    SCOPES: z.string().default("write_customers"),
    SHOP_CUSTOM_DOMAIN: z.string().optional(),
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
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    PORT: z.coerce.number().int().min(1).max(65535).default(3000),
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
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === "production" && env.TRUSTED_PROXY_HOPS === undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["TRUSTED_PROXY_HOPS"],
        message: "is required in production: the number of proxies in front of the app, counting Shopify's app proxy (see the README, \"Running behind a proxy\")",
      });
    }
  });

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
