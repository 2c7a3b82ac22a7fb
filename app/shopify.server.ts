import "@shopify/shopify-app-remix/adapters/node";
import { ApiVersion, AppDistribution, LogSeverity, shopifyApp } from "@shopify/shopify-app-remix/server";
import { getConfig } from "./lib/config.server";
import { getDb } from "./lib/db.server";
import { getLogger } from "./lib/logger.server";
import { customShopDomainConfig } from "./lib/session-token-claims";
import { createSessionStorage } from "./shops/session-storage.server";
import { ensureShop } from "./shops/shops.server";

const config = getConfig();

/** The one Shopify app instance: token-exchange auth for the embedded admin, sessions in our database. */
const shopify = shopifyApp({
  apiKey: config.SHOPIFY_API_KEY,
  apiSecretKey: config.SHOPIFY_API_SECRET,
  apiVersion: ApiVersion.October26,
  scopes: config.SCOPES.split(",").map((s) => s.trim()).filter(Boolean),
  appUrl: config.SHOPIFY_APP_URL,
  authPathPrefix: "/auth",
  sessionStorage: createSessionStorage(getDb()),
  distribution: AppDistribution.AppStore,
  // The library's own messages go through our logger, so they are redacted and leveled like the rest.
  logger: {
    level: LogSeverity.Info,
    log: async (severity, message) => {
      const log = getLogger();
      if (severity === LogSeverity.Error) log.error({ source: "shopify" }, message);
      else if (severity === LogSeverity.Warning) log.warn({ source: "shopify" }, message);
      else log.debug({ source: "shopify" }, message);
    },
  },
  future: {
    unstable_newEmbeddedAuthStrategy: true,
    expiringOfflineAccessTokens: true,
  },
  hooks: {
    afterAuth: async ({ session }) => {
      await ensureShop(getDb(), session.shop);
      getLogger().info({ shop: session.shop }, "shop authorised");
    },
  },
  ...customShopDomainConfig(config.SHOP_CUSTOM_DOMAIN),
});

export default shopify;
export const apiVersion = ApiVersion.October26;
export const addDocumentResponseHeaders = shopify.addDocumentResponseHeaders;
export const authenticate = shopify.authenticate;
export const unauthenticated = shopify.unauthenticated;
export const login = shopify.login;
export const sessionStorage = shopify.sessionStorage;
