import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * A throwaway certificate authority and a server certificate it signed, valid for `localhost`, 127.0.0.1
 * and ::1, made with the openssl CLI once per test process. Tests trust the CA explicitly (never the
 * system store), so a sender that forgets to pass it fails with a real TLS error.
 */
export interface TestCertificates {
  /** PEM of the test CA: what a client passes as its extra trusted root. */
  ca: string;
  /** PEM of the server certificate (leaf) for localhost, 127.0.0.1 and ::1. */
  cert: string;
  /** PEM of the server's private key. */
  key: string;
}

let cached: TestCertificates | undefined;

function openssl(cwd: string, args: string[]): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** The CA and server certificate for localhost, 127.0.0.1 and ::1, made once per test process. */
export function getTestCertificates(): TestCertificates {
  cached ??= issueTestCertificates({ dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"] });
  return cached;
}

/**
 * A fresh throwaway CA and a server certificate it signed for the given names, so that a test can play a
 * third-party API under its real host name (resolved to loopback by the test's own resolver) and the
 * client checks the certificate against that name as it would in production.
 */
export function issueTestCertificates(names: { dnsNames: readonly string[]; ipAddresses?: readonly string[] }): TestCertificates {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tryon-test-ca-"));
  try {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(dir, [
      "req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
      "-subj", "/CN=Try-on Leads Test CA",
      "-addext", "basicConstraints=critical,CA:TRUE",
      "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, ["req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", `/CN=${names.dnsNames[0] ?? "localhost"}`]);
    writeFileSync(
      path.join(dir, "server.ext"),
      [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature",
        "extendedKeyUsage=serverAuth",
        `subjectAltName=${[...names.dnsNames.map((n) => `DNS:${n}`), ...(names.ipAddresses ?? []).map((a) => `IP:${a}`)].join(",")}`,
      ].join("\n"),
    );
    openssl(dir, [
      "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
      "-set_serial", `0x${randomBytes(8).toString("hex")}`, "-days", "2",
      "-extfile", "server.ext", "-out", "server.pem",
    ]);
    return {
      ca: readFileSync(path.join(dir, "ca.pem"), "utf8"),
      cert: readFileSync(path.join(dir, "server.pem"), "utf8"),
      key: readFileSync(path.join(dir, "server.key"), "utf8"),
    };
  } finally {
    // The PEMs live in memory from here on; the CA key must not outlive the process on disk.
    rmSync(dir, { recursive: true, force: true });
  }
}
