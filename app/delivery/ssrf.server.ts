import { lookup } from "node:dns/promises";
import { canonicalAddress, classifyAddress, type AddressVerdict, type IpFamily } from "./ip-ranges";
import type { DeliveryErrorCode } from "./types";

/**
 * The destination check that runs before every webhook attempt. Merchants type endpoint URLs, so without
 * it a URL could make our servers call their own private network or the cloud metadata service.
 *
 * The host is resolved once per attempt and the caller dials exactly the addresses returned here; looking
 * the name up again at connect time would let a DNS answer change between check and use (DNS rebinding).
 */

export type { AddressVerdict, IpFamily } from "./ip-ranges";
export { classifyAddress } from "./ip-ranges";

export interface ResolvedAddress {
  address: string;
  family: IpFamily;
}

/** Looks a host name up; every answer is returned and every answer is checked. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/**
 * Which addresses may be dialled. Production uses `PUBLIC_UNICAST_ONLY`, and there is deliberately no
 * setting that loosens it: tests (and nothing else) build a policy that also allows a few exact addresses,
 * such as their loopback receiver, and pass it in.
 */
export interface AddressPolicy {
  /** Canonical addresses allowed in addition to public unicast. Exact addresses only, never ranges. */
  readonly allowAddresses: ReadonlySet<string>;
}

export const PUBLIC_UNICAST_ONLY: AddressPolicy = Object.freeze({ allowAddresses: new Set<string>() });

export function createAddressPolicy(options: { allowAddresses?: readonly string[] } = {}): AddressPolicy {
  const allowed = new Set<string>();
  for (const entry of options.allowAddresses ?? []) {
    const canonical = canonicalAddress(entry);
    if (!canonical) throw new TypeError(`allowAddresses entries must be IP addresses, got ${JSON.stringify(entry)}`);
    allowed.add(canonical);
  }
  return Object.freeze({ allowAddresses: allowed });
}

export type DestinationErrorCode = Extract<DeliveryErrorCode, "invalid_url" | "address_refused" | "dns_failure">;

/** A destination that must not be dialled, with words the merchant can act on (never a secret). */
export class DestinationRefusedError extends Error {
  constructor(
    public readonly code: DestinationErrorCode,
    message: string,
    /** The refused address, when an address was the reason. */
    public readonly address?: string,
  ) {
    super(message);
    this.name = "DestinationRefusedError";
  }
}

export interface VettedDestination {
  url: URL;
  /** The host as dialled and as checked against the certificate: brackets removed from IPv6 literals. */
  hostname: string;
  /** True when the URL names an IP address, so there was nothing to resolve. */
  isIpLiteral: boolean;
  /** The only addresses the request may connect to, in resolver order. */
  addresses: ResolvedAddress[];
}

export interface DestinationCheckOptions {
  resolve?: Resolver;
  policy?: AddressPolicy;
}

export const defaultResolver: Resolver = async (hostname) => {
  const answers = await lookup(hostname, { all: true, order: "verbatim" });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

const MAX_URL_LENGTH = 2048;

function describeRefusal(verdict: Extract<AddressVerdict, { public: false }>): string {
  const what: Record<typeof verdict.kind, string> = {
    unspecified: "is an unspecified address",
    loopback: "is a loopback address (this machine)",
    private: "is private",
    shared: "is a carrier-grade NAT address",
    link_local: "is link-local",
    documentation: "is reserved for documentation",
    benchmarking: "is reserved for network benchmarking",
    protocol: "is reserved for network protocols",
    multicast: "is a multicast address",
    reserved: "is reserved",
    broadcast: "is the broadcast address",
    unique_local: "is a private (unique local) IPv6 address",
    site_local: "is a site-local IPv6 address",
    embedded_ipv4: `wraps the IPv4 address ${verdict.embeddedIPv4} inside IPv6`,
    not_global: "is not a global IPv6 address",
  };
  return `The address ${verdict.address} ${what[verdict.kind]}; leads are only sent to public internet addresses`;
}

/** Refuses an address unless it is public unicast or listed in the policy. */
export function checkAddress(address: string, policy: AddressPolicy = PUBLIC_UNICAST_ONLY): ResolvedAddress {
  const verdict = classifyAddress(address);
  if (!verdict) {
    throw new DestinationRefusedError("dns_failure", `The host name resolved to "${address}", which is not an IP address`);
  }
  const canonical = canonicalAddress(address)!;
  if (!verdict.public && !policy.allowAddresses.has(canonical)) {
    throw new DestinationRefusedError("address_refused", describeRefusal(verdict), address);
  }
  return { address, family: verdict.family };
}

function parseEndpointUrl(raw: string | URL): URL {
  const text = String(raw);
  if (text.length > MAX_URL_LENGTH) {
    throw new DestinationRefusedError("invalid_url", `The endpoint URL is longer than ${MAX_URL_LENGTH} characters`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new DestinationRefusedError("invalid_url", "The endpoint URL is not a valid URL");
  }
  if (url.protocol !== "https:") {
    throw new DestinationRefusedError("invalid_url", "The endpoint URL must start with https://");
  }
  if (url.username || url.password) {
    throw new DestinationRefusedError(
      "invalid_url",
      "The endpoint URL must not contain a user name or password; use the signing secret to authenticate requests",
    );
  }
  return url;
}

/**
 * Validates the URL and returns the addresses it may be dialled at. IP literals are checked as they are
 * (the WHATWG parser has already turned spellings such as 2130706433, 0177.0.0.1, 0x7f.1 and 127.1 into a
 * dotted quad); names are resolved exactly once and refused if any answer is refused, because the
 * connection could otherwise land on whichever answer the refused one is.
 */
export async function assertPublicDestination(rawUrl: string | URL, options: DestinationCheckOptions = {}): Promise<VettedDestination> {
  const policy = options.policy ?? PUBLIC_UNICAST_ONLY;
  const url = parseEndpointUrl(rawUrl);
  const hostname = url.hostname.replace(/^\[|\]$/g, "");

  if (classifyAddress(hostname)) {
    return { url, hostname, isIpLiteral: true, addresses: [checkAddress(hostname, policy)] };
  }
  // The WHATWG parser treats a host whose last label is a number as IPv4 and rejects it if invalid, so a
  // numeric-looking name cannot reach this line; the check stays in case a caller hands us another parser's URL.
  const lastLabel = hostname.replace(/\.$/, "").split(".").pop() ?? "";
  if (/^(\d+|0x[0-9a-f]*)$/i.test(lastLabel)) {
    throw new DestinationRefusedError("invalid_url", "The endpoint URL's host looks like an IP address but is not a valid one");
  }

  let answers: ResolvedAddress[];
  try {
    answers = await (options.resolve ?? defaultResolver)(hostname);
  } catch {
    throw new DestinationRefusedError("dns_failure", `The host name ${hostname} could not be resolved`);
  }
  if (answers.length === 0) {
    throw new DestinationRefusedError("dns_failure", `The host name ${hostname} has no addresses`);
  }
  const addresses = answers.map((a) => checkAddress(a.address, policy));
  return { url, hostname, isIpLiteral: false, addresses };
}
