import { isIP } from "node:net";
import { checkServerIdentity as nodeCheckServerIdentity, type PeerCertificate } from "node:tls";
import { canonicalAddress } from "./ip-ranges";

/**
 * The certificate name check for webhook connections. Node's own check is used for host names and IPv4;
 * for IPv6 literals the certificate's IP-address SANs are compared here, as canonical addresses, because
 * some Node 22 and 24 security releases stopped matching IPv6 hosts against IP SANs and would refuse a
 * valid certificate. Node calls this only after the chain has been verified, so it can only add refusals
 * on top of that verification, never skip it.
 */
export function checkServerIdentity(host: string, cert: PeerCertificate): Error | undefined {
  const bare = host.replace(/^\[|\]$/g, "");
  if (isIP(bare) !== 6) return nodeCheckServerIdentity(host, cert);

  const wanted = canonicalAddress(bare);
  const sanAddresses = (cert.subjectaltname ?? "")
    .split(", ")
    .filter((entry) => entry.startsWith("IP Address:"))
    .map((entry) => canonicalAddress(entry.slice("IP Address:".length)));
  if (wanted !== null && sanAddresses.includes(wanted)) return undefined;

  const reason = `IP: ${bare} is not in the cert's list: ${cert.subjectaltname ?? "(none)"}`;
  return Object.assign(new Error(`Hostname/IP does not match certificate's altnames: ${reason}`), {
    code: "ERR_TLS_CERT_ALTNAME_INVALID",
    reason,
    host: bare,
    cert,
  });
}
