import { describe, expect, it } from "vitest";
import { cleanError, composeAlert, durationInWords, hostOf, type AlertFacts } from "../../app/alerts/alert-message";

const facts: AlertFacts = {
  kind: "failing",
  shopDomain: "aviator-eyewear.myshopify.com",
  destination: { name: "Zapier <Leads> & more", kind: "webhook", host: "hooks.zapier.com" },
  failingSince: new Date("2026-11-02T08:15:00Z"),
  paused: false,
  waitingLeads: 12,
  failedLeads: 0,
  lastError: "Your endpoint answered 503 Service Unavailable",
  link: "https://admin.shopify.com/store/aviator-eyewear/apps/key123/app/leads/destinations/d1",
  now: new Date("2026-11-02T10:20:00Z"),
};

describe("alert emails' words", () => {
  it("says which destination, since when, how many leads wait, the last error and where to look", () => {
    const message = composeAlert(facts);
    expect(message.subject).toBe("Leads are not reaching Zapier <Leads> & more");
    expect(message.text).toContain("Try-on leads from aviator-eyewear are not reaching Zapier <Leads> & more (Signed webhook, hooks.zapier.com).");
    expect(message.text).toContain("Failing since: Nov 2, 2026, 08:15 UTC (2 hours 5 minutes ago).");
    expect(message.text).toContain("Leads waiting to be sent: 12.");
    expect(message.text).toContain("Last error: Your endpoint answered 503 Service Unavailable");
    expect(message.text).toContain(`Open it in the app: ${facts.link}`);
    // The HTML escapes what the merchant typed and links the app.
    expect(message.html).toContain("Zapier &lt;Leads&gt; &amp; more");
    expect(message.html).not.toContain("<Leads>");
    expect(message.html).toContain(`<a href="${facts.link}">`);
  });

  it("words a recovery as such", () => {
    const message = composeAlert({ ...facts, kind: "recovered", waitingLeads: 3, failedLeads: 2 });
    expect(message.subject).toBe("Zapier <Leads> & more is receiving leads again");
    expect(message.text).toContain("Leads still waiting to be sent: 3; they go out on their own now.");
    expect(message.text).toContain("2 leads ran out of attempts while it was failing");
    expect(message.text).not.toContain("Last error");
  });

  it("cleans an error of URLs (host only), emails, credentials and long tokens", () => {
    expect(cleanError("POST https://hooks.example.com/v1/catch/123?key=abc failed for ana@example.org")).toBe("POST hooks.example.com failed for [email]");
    expect(cleanError("Authorization: Bearer sk_live_abcdef123 refused")).toBe("Authorization: Bearer [hidden] refused");
    expect(cleanError("refused jane.o'neil+vip@shop.example and {kim}~lee@shop.example")).toBe("refused [email] and [email]");
    expect(cleanError(`token ${"x".repeat(40)} expired`)).toBe("token [hidden] expired");
    expect(cleanError("a\n  b".repeat(200)).length).toBeLessThanOrEqual(300);
  });

  it("gives hosts only, and durations in words", () => {
    expect(hostOf("https://user:pw@crm.example.com:8443/path?q=1")).toBe("crm.example.com");
    expect(hostOf("not a url")).toBe("unknown host");
    expect(durationInWords(45 * 60_000)).toBe("45 minutes");
    expect(durationInWords(60 * 60_000)).toBe("1 hour");
    expect(durationInWords(50 * 3_600_000)).toBe("2 days 2 hours");
    expect(durationInWords(10_000)).toBe("1 minute");
  });
});
