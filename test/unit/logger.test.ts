import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../app/lib/logger.server";

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ level: "debug", destination }), output: () => lines.join("") };
}

describe("log redaction", () => {
  it("censors sensitive keys at any depth", () => {
    const { logger, output } = capture();
    logger.info({ email: "ann@example.com", secret: "whsec_AAAA", endpoint: { secret: "whsec_BBBB", signingSecret: "x1" }, headers: { "x-tryoncloud-signature": "sha256=abcdef" } }, "connected");
    const text = output();
    expect(text).toContain("connected");
    for (const leaked of ["ann@example.com", "whsec_AAAA", "whsec_BBBB", "x1\"", "sha256=abcdef"]) expect(text).not.toContain(leaked);
  });

  it("masks emails, bearer tokens and signatures inside free text and errors", () => {
    const { logger, output } = capture();
    logger.warn({ err: new Error("could not tag bob@shop.example") }, "lead for carol@shop.example failed with Bearer eyJhbGciOi.x.y and sha256=0123456789abcdef0123456789abcdef");
    const text = output();
    expect(text).not.toMatch(/bob@shop\.example|carol@shop\.example|eyJhbGciOi|0123456789abcdef0123/);
    expect(text).toContain("[email]");
    expect(text).toContain("Bearer [redacted]");
  });

  it("masks every email the capture route accepts whole, whatever its local part holds", () => {
    const { logger, output } = capture();
    const emails = ["jane.o'neil+promo@shop.example", "{kim}~lee@shop.example", "a!b#c$d%e&f*g=h?i^j`k|l@mail.shop.example", "x/y@shop.example"];
    logger.warn({ err: new Error(`receiver answered: ${emails[0]} rejected`) }, `could not deliver to ${emails.slice(1).join(", ")}`);
    const text = output();
    for (const part of ["jane", "neil", "promo", "kim", "lee", "a!b", "k|l", "x/y", "shop.example"]) expect(text).not.toContain(part);
    expect(text.match(/\[email\]/g)).toHaveLength(4);
  });

  it("keeps harmless context readable", () => {
    const { logger, output } = capture();
    logger.info({ shop: "a.myshopify.com", deliveryId: "d_1", attempt: 2 }, "delivered");
    expect(JSON.parse(output())).toMatchObject({ shop: "a.myshopify.com", deliveryId: "d_1", attempt: 2, msg: "delivered" });
  });
});
