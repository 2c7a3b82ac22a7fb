import { describe, expect, it } from "vitest";
import { clientAddress } from "../../app/lib/client-address";

const SHOPPER = "203.0.113.7";
const SHOPIFY = "23.227.38.65";
const BALANCER = "10.0.0.2";

describe("the client address for rate limits", () => {
  it.each([
    ["no trusted proxy: the socket's peer, whatever the header says", "1.2.3.4", BALANCER, 0, BALANCER],
    ["Shopify's proxy and one balancer: two entries from the right", `${SHOPPER}, ${SHOPIFY}`, BALANCER, 2, SHOPPER],
    ["a value the client wrote to the left is ignored", `6.6.6.6, 7.7.7.7, ${SHOPPER}, ${SHOPIFY}`, BALANCER, 2, SHOPPER],
    ["one trusted proxy: its appended entry", `9.9.9.9, ${SHOPPER}`, BALANCER, 1, SHOPPER],
    ["a chain shorter than the trusted hops: its leftmost entry", SHOPPER, BALANCER, 3, SHOPPER],
    ["no header and no proxy trusted", null, BALANCER, 0, BALANCER],
    ["an IPv4-mapped socket address is read as IPv4", null, `::ffff:${BALANCER}`, 0, BALANCER],
    ["an entry with a port", `${SHOPPER}:51234, ${SHOPIFY}`, BALANCER, 2, SHOPPER],
    ["a bracketed IPv6 entry with a port", `[2001:DB8::7]:443, ${SHOPIFY}`, BALANCER, 2, "2001:db8::7"],
    ["an entry that is no address", `not-an-ip, ${SHOPIFY}`, BALANCER, 2, null],
    ["no socket address and no proxy trusted", "1.2.3.4", undefined, 0, null],
  ] as const)("%s", (_name, forwardedFor, socketAddress, trustedHops, expected) => {
    expect(clientAddress({ forwardedFor, socketAddress, trustedHops })).toBe(expected);
  });

  it("tells two shoppers behind the same proxies apart, and one shopper's spoofed headers together", () => {
    const addressOf = (forwardedFor: string) => clientAddress({ forwardedFor, socketAddress: BALANCER, trustedHops: 2 });
    expect(addressOf(`198.51.100.1, ${SHOPIFY}`)).not.toBe(addressOf(`198.51.100.2, ${SHOPIFY}`));
    expect(addressOf(`1.1.1.1, ${SHOPPER}, ${SHOPIFY}`)).toBe(addressOf(`2.2.2.2, ${SHOPPER}, ${SHOPIFY}`));
  });
});
