import { isIP } from "node:net";

/**
 * The address of the client a request came from, for per-address rate limits. Every proxy in front of
 * the app appends the address it received the request from to X-Forwarded-For, so only the entries that
 * trusted proxies appended, counted from the right, say anything: whatever stands further left is what
 * the client wrote. With `trustedHops` proxies in front, the client is the entry `trustedHops` places to
 * the left of the socket's own peer (the nearest proxy); with none, the socket's peer itself.
 *
 * A chain shorter than the trusted hops (the request skipped a proxy it should have passed) yields its
 * leftmost entry. An entry that is not an IP address yields null: no per-address count.
 */
export function clientAddress(input: { forwardedFor: string | null; socketAddress: string | null | undefined; trustedHops: number }): string | null {
  const chain = (input.forwardedFor ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
  chain.push(input.socketAddress ?? "");
  const picked = chain[Math.max(0, chain.length - 1 - input.trustedHops)];
  return normaliseAddress(picked);
}

/** An IP address as one spelling: no port, no brackets, IPv4-mapped IPv6 as IPv4, IPv6 lower-case; null if it is none. */
export function normaliseAddress(raw: string): string | null {
  let address = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) address = bracketed[1];
  else if (/^[\d.]+:\d+$/.test(address)) address = address.slice(0, address.lastIndexOf(":"));
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) address = mapped[1];
  const family = isIP(address);
  if (family === 4) return address;
  if (family === 6) return address.toLowerCase();
  return null;
}
