import "@shopify/shopify-api/adapters/node";
import { ApiVersion, shopifyApi } from "@shopify/shopify-api";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../app/lib/config.server";
import { customShopDomainConfig, isShopDomain, sessionTokenClaimsProblem } from "../../app/lib/session-token-claims";

function library(customDomain?: string) {
  return shopifyApi({
    apiKey: "key",
    apiSecretKey: "secret",
    hostName: "app.example.com",
    apiVersion: ApiVersion.October25,
    isEmbeddedApp: true,
    logger: { log: () => undefined },
    ...customShopDomainConfig(customDomain),
  });
}

function unsignedToken(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "HS256", typ: "JWT" })}.${part(claims)}.signature`;
}

describe("SHOP_CUSTOM_DOMAIN", () => {
  it("makes the Shopify library accept shops on that domain, as the app's own claim check does", () => {
    const shop = "demo-store.shops.example.dev";
    expect(library().utils.sanitizeShop(shop)).toBeNull();
    expect(isShopDomain(shop)).toBe(false);

    expect(library("shops.example.dev").utils.sanitizeShop(shop)).toBe(shop);
    expect(isShopDomain(shop, "shops.example.dev")).toBe(true);
    expect(sessionTokenClaimsProblem(unsignedToken({ dest: `https://${shop}`, iss: `https://${shop}/admin` }), "shops.example.dev")).toBeNull();
  });

  it("still refuses look-alike hosts and keeps myshopify.com", () => {
    const api = library("shops.example.dev");
    expect(api.utils.sanitizeShop("demo-store.myshopify.com")).toBe("demo-store.myshopify.com");
    for (const host of ["demo-store.shops.example.dev.evil.com", "demo-store.shopsXexample.dev", "a.b.shops.example.dev", "shops.example.dev"]) {
      expect(api.utils.sanitizeShop(host), host).toBeNull();
      expect(isShopDomain(host, "shops.example.dev"), host).toBe(false);
    }
  });

  it("is refused at start-up unless it is a bare domain", () => {
    const base = { SHOPIFY_API_KEY: "k", SHOPIFY_API_SECRET: "s", SHOPIFY_APP_URL: "https://app.example.com", DATABASE_URL: "file:./dev.sqlite", ENCRYPTION_KEYS: `1:${Buffer.alloc(32, 1).toString("base64")}` };
    expect(loadConfig({ ...base, SHOP_CUSTOM_DOMAIN: "shops.example.dev" }).SHOP_CUSTOM_DOMAIN).toBe("shops.example.dev");
    expect(loadConfig({ ...base, SHOP_CUSTOM_DOMAIN: " Shops.Example.DEV " }).SHOP_CUSTOM_DOMAIN).toBe("shops.example.dev");
    for (const value of ["https://shops.example.dev", "shops.example.dev/x", "example", ".example.dev", "a b.dev"]) {
      try {
        loadConfig({ ...base, SHOP_CUSTOM_DOMAIN: value });
        expect.unreachable(`${value} was accepted`);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).problems.join("\n")).toMatch(/SHOP_CUSTOM_DOMAIN/);
      }
    }
  });
});
