import { isIP } from "node:net";

/**
 * Pure IP classification for the webhook destination check: is an address public unicast, and if not,
 * which special-purpose range is it in? Addresses are parsed here (after `net.isIP` has validated the
 * spelling) rather than matched as strings, so that every spelling of an address lands on the same bytes.
 */

export type IpFamily = 4 | 6;

export type RangeKind =
  | "unspecified"
  | "loopback"
  | "private"
  | "shared"        // 100.64/10, carrier-grade NAT
  | "link_local"    // includes cloud metadata at 169.254.169.254
  | "documentation"
  | "benchmarking"
  | "protocol"      // IETF protocol assignments, 6to4 relay anycast, ORCHID...
  | "multicast"
  | "reserved"
  | "broadcast"
  | "unique_local"
  | "site_local"
  | "embedded_ipv4" // IPv4 carried inside an IPv6 address
  | "not_global";   // IPv6 outside 2000::/3, the only block allocated for global unicast

export type AddressVerdict =
  | { public: true; family: IpFamily; address: string }
  | { public: false; family: IpFamily; address: string; kind: RangeKind; range: string; embeddedIPv4?: string };

/** Four octets, or null when the text is not a dotted-quad IPv4 address. */
export function parseIPv4(text: string): number[] | null {
  if (isIP(text) !== 4) return null;
  return text.split(".").map(Number);
}

/** Sixteen bytes, or null when the text is not an IPv6 address. A zone (`%eth0`) is dropped. */
export function parseIPv6(text: string): number[] | null {
  const bare = text.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  if (isIP(bare) !== 6) return null;
  let groups: number[];
  let tail: number[] = [];
  let head = bare;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (dotted) {
    const v4 = parseIPv4(dotted[1]);
    if (!v4) return null;
    tail = [(v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]];
    head = bare.slice(0, -dotted[1].length);
    if (head.endsWith(":") && !head.endsWith("::")) head = head.slice(0, -1);
  }
  const halves = head.split("::");
  const parse = (s: string) => (s === "" ? [] : s.split(":").map((g) => parseInt(g, 16)));
  if (halves.length === 2) {
    const left = parse(halves[0]);
    const right = parse(halves[1]).concat(tail);
    groups = left.concat(new Array(8 - left.length - right.length).fill(0), right);
  } else {
    groups = parse(halves[0]).concat(tail);
  }
  if (groups.length !== 8) return null;
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

function inPrefix(bytes: number[], prefix: number[], bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const byte = i >> 3;
    const mask = 0x80 >> (i & 7);
    if ((bytes[byte] & mask) !== (prefix[byte] & mask)) return false;
  }
  return true;
}

interface Range {
  range: string;
  kind: RangeKind;
  bytes: number[];
  bits: number;
}

function v4(cidr: string, kind: RangeKind): Range {
  const [addr, bits] = cidr.split("/");
  return { range: cidr, kind, bytes: parseIPv4(addr)!, bits: Number(bits) };
}

function v6(cidr: string, kind: RangeKind): Range {
  const [addr, bits] = cidr.split("/");
  return { range: cidr, kind, bytes: parseIPv6(addr)!, bits: Number(bits) };
}

/** IANA IPv4 special-purpose ranges that are not reachable as public unicast. */
const IPV4_REFUSED: Range[] = [
  v4("0.0.0.0/8", "unspecified"),
  v4("10.0.0.0/8", "private"),
  v4("100.64.0.0/10", "shared"),
  v4("127.0.0.0/8", "loopback"),
  v4("169.254.0.0/16", "link_local"),
  v4("172.16.0.0/12", "private"),
  v4("192.0.0.0/24", "protocol"),
  v4("192.0.2.0/24", "documentation"),
  v4("192.88.99.0/24", "protocol"),
  v4("192.168.0.0/16", "private"),
  v4("198.18.0.0/15", "benchmarking"),
  v4("198.51.100.0/24", "documentation"),
  v4("203.0.113.0/24", "documentation"),
  v4("224.0.0.0/4", "multicast"),
  v4("255.255.255.255/32", "broadcast"), // before 240/4 so the more telling name wins
  v4("240.0.0.0/4", "reserved"),
];

export function classifyIPv4(bytes: number[]): Range | null {
  return IPV4_REFUSED.find((r) => inPrefix(bytes, r.bytes, r.bits)) ?? null;
}

/**
 * IPv6 forms that carry an IPv4 address, with where it sits. Every one of them is refused outright, even
 * when the IPv4 inside is public: a webhook endpoint has no reason to be published that way, and the hop
 * that unwraps it (the kernel's dual stack, a NAT64 gateway, a 6to4 or Teredo relay) may sit inside a
 * private network where the carried address means something else. The embedded IPv4 is still extracted
 * so the merchant is told what the address really points at.
 */
const IPV6_EMBEDDING: { range: Range; extract: (b: number[]) => number[] }[] = [
  { range: v6("::ffff:0:0/96", "embedded_ipv4"), extract: (b) => b.slice(12, 16) },         // IPv4-mapped
  { range: v6("64:ff9b::/96", "embedded_ipv4"), extract: (b) => b.slice(12, 16) },          // NAT64 well-known
  { range: v6("64:ff9b:1::/48", "embedded_ipv4"), extract: (b) => b.slice(12, 16) },        // NAT64 local use
  { range: v6("2002::/16", "embedded_ipv4"), extract: (b) => b.slice(2, 6) },               // 6to4: bits 16-48
  { range: v6("2001::/32", "embedded_ipv4"), extract: (b) => b.slice(12, 16).map((x) => ~x & 0xff) }, // Teredo client
  // IPv4-compatible (deprecated). Checked last: :: and ::1 sit inside ::/96 and are named on their own below.
  { range: v6("::/96", "embedded_ipv4"), extract: (b) => b.slice(12, 16) },
];

const IPV6_REFUSED: Range[] = [
  v6("::/128", "unspecified"),
  v6("::1/128", "loopback"),
  v6("100::/64", "protocol"),        // discard-only
  v6("2001:2::/48", "benchmarking"),
  v6("2001:10::/28", "protocol"),    // ORCHID
  v6("2001:20::/28", "protocol"),    // ORCHIDv2
  v6("2001:db8::/32", "documentation"),
  v6("3fff::/20", "documentation"),
  v6("fc00::/7", "unique_local"),
  v6("fe80::/10", "link_local"),
  v6("fec0::/10", "site_local"),
  v6("ff00::/8", "multicast"),
];

const GLOBAL_UNICAST = v6("2000::/3", "not_global");

function formatV4(bytes: number[]): string {
  return bytes.join(".");
}

/** Canonical text of an address, so that an allow-list entry matches every spelling of it. */
export function canonicalAddress(text: string): string | null {
  const four = parseIPv4(text);
  if (four) return formatV4(four);
  const six = parseIPv6(text);
  if (!six) return null;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((six[i] << 8) | six[i + 1]).toString(16));
  return groups.join(":");
}

/** Public unicast or not, with the range that made it not. `null` when the text is not an IP address. */
export function classifyAddress(text: string): AddressVerdict | null {
  const four = parseIPv4(text);
  if (four) {
    const hit = classifyIPv4(four);
    return hit
      ? { public: false, family: 4, address: text, kind: hit.kind, range: hit.range }
      : { public: true, family: 4, address: text };
  }
  const six = parseIPv6(text);
  if (!six) return null;
  const named = IPV6_REFUSED.find((r) => inPrefix(six, r.bytes, r.bits));
  if (named) return { public: false, family: 6, address: text, kind: named.kind, range: named.range };
  const embedding = IPV6_EMBEDDING.find((e) => inPrefix(six, e.range.bytes, e.range.bits));
  if (embedding) {
    return {
      public: false, family: 6, address: text, kind: "embedded_ipv4", range: embedding.range.range,
      embeddedIPv4: formatV4(embedding.extract(six)),
    };
  }
  if (!inPrefix(six, GLOBAL_UNICAST.bytes, GLOBAL_UNICAST.bits)) {
    return { public: false, family: 6, address: text, kind: "not_global", range: "outside 2000::/3" };
  }
  return { public: true, family: 6, address: text };
}
