import { describe, expect, it } from "vitest";
import {
  assertPublicDestination,
  classifyAddress,
  createAddressPolicy,
  DestinationRefusedError,
  PUBLIC_UNICAST_ONLY,
  type ResolvedAddress,
  type Resolver,
} from "../../app/delivery/ssrf.server";

/** A resolver that answers from a table and counts its calls. */
function tableResolver(answers: Record<string, string[]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string): Promise<ResolvedAddress[]> => {
    calls.push(hostname);
    const list = answers[hostname];
    if (!list) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return list.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
  return Object.assign(resolve, { calls });
}

async function refusal(url: string, options: Parameters<typeof assertPublicDestination>[1] = {}) {
  try {
    await assertPublicDestination(url, options);
  } catch (error) {
    expect(error).toBeInstanceOf(DestinationRefusedError);
    return error as DestinationRefusedError;
  }
  throw new Error(`expected ${url} to be refused`);
}

/** Resolves `hooks.example.com` to the given address and checks it under the production policy. */
async function refusalOfAnswer(address: string) {
  return refusal("https://hooks.example.com/in", { resolve: tableResolver({ "hooks.example.com": [address] }) });
}

const REFUSED_IPV4: [string, string][] = [
  ["0.0.0.0", "0.0.0.0/8"], ["0.255.255.255", "0.0.0.0/8"],
  ["10.0.0.5", "10.0.0.0/8"], ["10.255.255.255", "10.0.0.0/8"],
  ["100.64.0.1", "100.64.0.0/10"], ["100.127.255.254", "100.64.0.0/10"],
  ["127.0.0.1", "127.0.0.0/8"], ["127.255.255.254", "127.0.0.0/8"],
  ["169.254.0.1", "169.254.0.0/16"], ["169.254.169.254", "169.254.0.0/16"],
  ["172.16.0.1", "172.16.0.0/12"], ["172.31.255.255", "172.16.0.0/12"],
  ["192.0.0.8", "192.0.0.0/24"], ["192.0.2.10", "192.0.2.0/24"], ["192.88.99.1", "192.88.99.0/24"],
  ["192.168.0.1", "192.168.0.0/16"], ["192.168.255.255", "192.168.0.0/16"],
  ["198.18.0.1", "198.18.0.0/15"], ["198.19.255.255", "198.18.0.0/15"],
  ["198.51.100.7", "198.51.100.0/24"], ["203.0.113.9", "203.0.113.0/24"],
  ["224.0.0.1", "224.0.0.0/4"], ["239.255.255.250", "224.0.0.0/4"],
  ["240.0.0.1", "240.0.0.0/4"], ["254.1.2.3", "240.0.0.0/4"],
  ["255.255.255.255", "255.255.255.255/32"],
];

const PUBLIC_IPV4 = [
  "8.8.8.8", "1.1.1.1", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0", "126.255.255.255", "128.0.0.0",
  "169.253.255.255", "169.255.0.0", "172.15.255.255", "172.32.0.0", "192.0.1.1", "192.0.3.1", "192.88.98.1",
  "192.167.255.255", "192.169.0.0", "198.17.255.255", "198.20.0.0", "198.51.99.1", "203.0.112.1", "223.255.255.255",
];

const REFUSED_IPV6: [string, string][] = [
  ["::", "::/128"], ["::1", "::1/128"],
  ["fc00::1", "fc00::/7"], ["fd12:3456:789a::1", "fc00::/7"], ["fd00:ec2::254", "fc00::/7"],
  ["fe80::1", "fe80::/10"], ["febf:ffff::1", "fe80::/10"],
  ["fec0::1", "fec0::/10"], ["feff::1", "fec0::/10"],
  ["ff02::1", "ff00::/8"], ["ff0e::fb", "ff00::/8"],
  ["2001:db8::1", "2001:db8::/32"], ["2001:db8:ffff::1", "2001:db8::/32"],
  ["100::1", "100::/64"],
];

/** IPv4 carried in IPv6: every form is refused, and the merchant is told the IPv4 inside. */
const EMBEDDED: [string, string, string][] = [
  ["::ffff:10.0.0.5", "::ffff:0:0/96", "10.0.0.5"],
  ["::ffff:a00:5", "::ffff:0:0/96", "10.0.0.5"],
  ["::ffff:127.0.0.1", "::ffff:0:0/96", "127.0.0.1"],
  ["::ffff:8.8.8.8", "::ffff:0:0/96", "8.8.8.8"],
  ["::10.0.0.5", "::/96", "10.0.0.5"],
  ["::169.254.169.254", "::/96", "169.254.169.254"],
  ["64:ff9b::10.0.0.5", "64:ff9b::/96", "10.0.0.5"],
  ["64:ff9b::808:808", "64:ff9b::/96", "8.8.8.8"],
  ["64:ff9b:1::a9fe:a9fe", "64:ff9b:1::/48", "169.254.169.254"],
  ["2002:a00:5::1", "2002::/16", "10.0.0.5"],
  ["2002:7f00:1:1::1", "2002::/16", "127.0.0.1"],
  ["2002:808:808::1", "2002::/16", "8.8.8.8"],
  // Teredo: the client address is the bitwise NOT of the last 32 bits (f5ff:fffa -> 10.0.0.5).
  ["2001:0:4136:e378:8000:63bf:f5ff:fffa", "2001::/32", "10.0.0.5"],
  ["2001:0:4136:e378:8000:63bf:80ff:fffe", "2001::/32", "127.0.0.1"],
];

const PUBLIC_IPV6 = ["2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "2001:4860:4860::8888", "2001:1::1", "2003::1", "3ffe::1"];

describe("IPv4 ranges", () => {
  it.each(REFUSED_IPV4)("refuses the literal %s (%s) with address_refused", async (address, range) => {
    const error = await refusal(`https://${address}/hook`);
    expect(error.code).toBe("address_refused");
    expect(error.address).toBe(address);
    expect(classifyAddress(address)).toMatchObject({ public: false, range });
  });

  it.each(REFUSED_IPV4)("refuses %s when a host name resolves to it", async (address) => {
    expect((await refusalOfAnswer(address)).code).toBe("address_refused");
  });

  it.each(PUBLIC_IPV4)("allows the public address %s", async (address) => {
    const vetted = await assertPublicDestination(`https://${address}/hook`);
    expect(vetted.addresses).toEqual([{ address, family: 4 }]);
    expect(vetted.isIpLiteral).toBe(true);
  });
});

describe("IPv6 ranges", () => {
  it.each(REFUSED_IPV6)("refuses the literal [%s] (%s) with address_refused", async (address, range) => {
    expect((await refusal(`https://[${address}]/hook`)).code).toBe("address_refused");
    expect((await refusalOfAnswer(address)).code).toBe("address_refused");
    expect(classifyAddress(address)).toMatchObject({ public: false, range });
  });

  it.each(EMBEDDED)("refuses %s (%s) and names the IPv4 %s inside", async (address, range, inner) => {
    const viaDns = await refusalOfAnswer(address);
    expect(viaDns.code).toBe("address_refused");
    expect(viaDns.message).toContain(inner);
    expect((await refusal(`https://[${address}]/hook`)).code).toBe("address_refused");
    expect(classifyAddress(address)).toMatchObject({ public: false, kind: "embedded_ipv4", range, embeddedIPv4: inner });
  });

  it("refuses a link-local answer that carries a zone id", async () => {
    expect((await refusalOfAnswer("fe80::1%eth0")).code).toBe("address_refused");
  });

  it.each(PUBLIC_IPV6)("allows the public address %s", async (address) => {
    const vetted = await assertPublicDestination(`https://[${address}]:8443/hook`);
    expect(vetted.hostname).toBe(new URL(`https://[${address}]/`).hostname.slice(1, -1));
    expect(vetted.addresses[0].family).toBe(6);
  });
});

describe("other spellings of loopback and metadata addresses", () => {
  const spellings = [
    "https://2130706433/", "https://0177.0.0.1/", "https://0x7f.1/", "https://127.1/", "https://0x7f000001/",
    "https://017700000001/", "https://127.0.0.1./", "https://%31%32%37.0.0.1/", "https://0x7f.0x0.0x0.0x1/",
    "HTTPS://127.0.0.1:443/", "https://[::ffff:127.0.0.1]/", "https://[::ffff:7f00:1]/", "https://[0:0:0:0:0:0:0:1]/",
    "https://[0000::1]/", "https://0/", "https://0xa9.0xfe.0xa9.0xfe/latest/meta-data/", "https://2852039166/",
  ];

  it.each(spellings)("refuses %s with address_refused and never consults the resolver", async (url) => {
    const resolve = tableResolver({});
    expect((await refusal(url, { resolve })).code).toBe("address_refused");
    expect(resolve.calls).toEqual([]);
  });

  it("refuses malformed numeric hosts as invalid URLs", async () => {
    expect((await refusal("https://1.2.3.4.5/")).code).toBe("invalid_url");
    expect((await refusal("https://256.1.1.1/")).code).toBe("invalid_url");
  });
});

describe("host names", () => {
  it("GIVEN every answer is public THEN all of them are returned and the name was resolved once", async () => {
    const resolve = tableResolver({ "hooks.example.com": ["93.184.216.34", "2606:2800:220:1::1"] });
    const vetted = await assertPublicDestination("https://Hooks.Example.com/in?x=1", { resolve });
    expect(resolve.calls).toEqual(["hooks.example.com"]);
    expect(vetted.hostname).toBe("hooks.example.com");
    expect(vetted.isIpLiteral).toBe(false);
    expect(vetted.addresses).toEqual([{ address: "93.184.216.34", family: 4 }, { address: "2606:2800:220:1::1", family: 6 }]);
  });

  it("GIVEN one private answer among public ones THEN the whole destination is refused", async () => {
    const resolve = tableResolver({ "mixed.example.com": ["93.184.216.34", "10.0.0.5", "8.8.8.8"] });
    const error = await refusal("https://mixed.example.com/", { resolve });
    expect(error.code).toBe("address_refused");
    expect(error.message).toBe("The address 10.0.0.5 is private; leads are only sent to public internet addresses");
  });

  it("GIVEN the name does not resolve THEN dns_failure", async () => {
    const error = await refusal("https://nowhere.example.com/", { resolve: tableResolver({}) });
    expect(error.code).toBe("dns_failure");
    expect(error.message).toBe("The host name nowhere.example.com could not be resolved");
  });

  it("GIVEN no answers or an answer that is not an IP address THEN dns_failure", async () => {
    expect((await refusal("https://empty.example.com/", { resolve: tableResolver({ "empty.example.com": [] }) })).code).toBe("dns_failure");
    expect((await refusal("https://odd.example.com/", { resolve: tableResolver({ "odd.example.com": ["0177.0.0.1"] }) })).code)
      .toBe("dns_failure");
  });

  it("GIVEN the system resolver THEN localhost is refused under the production policy", async () => {
    expect((await refusal("https://localhost/hook")).code).toBe("address_refused");
  });
});

describe("URL rules", () => {
  it.each(["http://93.184.216.34/hook", "ftp://example.com/", "wss://example.com/", "//example.com/", "not a url", ""])(
    "refuses %j with invalid_url",
    async (url) => {
      const error = await refusal(url);
      expect(error.code).toBe("invalid_url");
    },
  );

  it("says https is required for http URLs", async () => {
    expect((await refusal("http://example.com/")).message).toBe("The endpoint URL must start with https://");
  });

  it.each(["https://user:hunter2@example.com/", "https://user@example.com/", "https://:hunter2@example.com/"])(
    "refuses credentials in %s without repeating them",
    async (url) => {
      const resolve = tableResolver({ "example.com": ["93.184.216.34"] });
      const error = await refusal(url, { resolve });
      expect(error.code).toBe("invalid_url");
      expect(error.message).not.toContain("hunter2");
      expect(resolve.calls).toEqual([]);
    },
  );

  it("refuses a URL longer than 2048 characters", async () => {
    expect((await refusal(`https://example.com/${"a".repeat(2048)}`)).code).toBe("invalid_url");
  });
});

describe("address policy", () => {
  const loopback = createAddressPolicy({ allowAddresses: ["127.0.0.1", "::1"] });

  it("GIVEN a test policy THEN exactly the listed addresses are allowed, in any spelling", async () => {
    expect((await assertPublicDestination("https://127.0.0.1:8443/", { policy: loopback })).addresses).toEqual([{ address: "127.0.0.1", family: 4 }]);
    expect((await assertPublicDestination("https://[::1]/", { policy: loopback })).addresses[0].address).toBe("::1");
    expect((await assertPublicDestination("https://2130706433/", { policy: loopback })).addresses[0].address).toBe("127.0.0.1");
    const resolve = tableResolver({ "local.test": ["0:0:0:0:0:0:0:1"] });
    expect((await assertPublicDestination("https://local.test/", { policy: loopback, resolve })).addresses[0].address).toBe("0:0:0:0:0:0:0:1");
  });

  it("GIVEN a test policy THEN neighbouring and other private addresses stay refused", async () => {
    expect((await refusal("https://127.0.0.2/", { policy: loopback })).code).toBe("address_refused");
    expect((await refusal("https://10.0.0.1/", { policy: loopback })).code).toBe("address_refused");
    expect((await refusal("https://[::ffff:127.0.0.1]/", { policy: loopback })).code).toBe("address_refused");
  });

  it("GIVEN the production policy THEN it allows nothing beyond public unicast and cannot be changed", async () => {
    expect(PUBLIC_UNICAST_ONLY.allowAddresses.size).toBe(0);
    expect(Object.isFrozen(PUBLIC_UNICAST_ONLY)).toBe(true);
    expect((await refusal("https://127.0.0.1/", { policy: PUBLIC_UNICAST_ONLY })).code).toBe("address_refused");
  });

  it("refuses allow-list entries that are not addresses", () => {
    expect(() => createAddressPolicy({ allowAddresses: ["localhost"] })).toThrow(TypeError);
    expect(() => createAddressPolicy({ allowAddresses: ["10.0.0.0/8"] })).toThrow(TypeError);
  });
});
