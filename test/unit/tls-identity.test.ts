import { X509Certificate } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import { describe, expect, it } from "vitest";
import { checkServerIdentity } from "../../app/delivery/tls-identity";
import { getTestCertificates } from "../support/test-certificates";

/** The parts of a peer certificate the name check reads, taken from the real test certificate. */
function peer(subjectaltname: string): PeerCertificate {
  return { subject: { CN: "localhost" }, subjectaltname } as unknown as PeerCertificate;
}

const testCertSans = new X509Certificate(getTestCertificates().cert).subjectAltName ?? "";

describe("certificate name check", () => {
  it("GIVEN an IPv6 host listed in the IP SANs (in any spelling) THEN it matches", () => {
    expect(testCertSans).toContain("IP Address:");
    expect(checkServerIdentity("::1", peer(testCertSans))).toBeUndefined();
    expect(checkServerIdentity("[::1]", peer(testCertSans))).toBeUndefined();
    expect(checkServerIdentity("2001:db8::5", peer("IP Address:2001:DB8:0:0:0:0:0:5"))).toBeUndefined();
  });

  it("GIVEN an IPv6 host not in the IP SANs THEN it is refused as an altname mismatch", () => {
    expect(checkServerIdentity("::2", peer(testCertSans))).toMatchObject({ code: "ERR_TLS_CERT_ALTNAME_INVALID" });
    expect(checkServerIdentity("::1", peer("DNS:localhost"))).toMatchObject({ code: "ERR_TLS_CERT_ALTNAME_INVALID" });
    // A DNS SAN spelled like an address is not an IP SAN.
    expect(checkServerIdentity("::1", peer("DNS:::1"))).toMatchObject({ code: "ERR_TLS_CERT_ALTNAME_INVALID" });
  });

  it("GIVEN a host name or IPv4 THEN Node's own rules decide", () => {
    expect(checkServerIdentity("localhost", peer(testCertSans))).toBeUndefined();
    expect(checkServerIdentity("127.0.0.1", peer(testCertSans))).toBeUndefined();
    expect(checkServerIdentity("127.0.0.2", peer(testCertSans))).toMatchObject({ code: "ERR_TLS_CERT_ALTNAME_INVALID" });
    expect(checkServerIdentity("hooks.example.com", peer(testCertSans))).toMatchObject({ code: "ERR_TLS_CERT_ALTNAME_INVALID" });
  });
});
