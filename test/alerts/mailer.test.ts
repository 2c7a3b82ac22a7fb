import os from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mailerFrom, smtpServerOf } from "../../app/lib/mailer.server";
import { startSmtpReceiver, type SmtpReceiver } from "../support/smtp-receiver";
import { getTestCertificates } from "../support/test-certificates";

/** The mailer against a real SMTP server on loopback: TLS from the first byte for smtps://, and the URL's login. */

const FROM = "Try-on Leads <alerts@tryon-leads.example>";
const message = { to: "owner@shop.example", subject: "Hello", text: "Plain words.", html: "<p>Plain words.</p>", messageId: "<m1@tryon-leads.example>" };

describe("sending email through SMTP_URL", () => {
  let tlsServer: SmtpReceiver;
  let plain: SmtpReceiver;

  beforeAll(async () => {
    const { key, cert } = getTestCertificates();
    tlsServer = await startSmtpReceiver({ user: "relay", password: "s3cret pass", tls: { key, cert } });
    plain = await startSmtpReceiver({ user: "relay", password: "right" });
  });

  afterAll(async () => {
    await tlsServer.close();
    await plain.close();
  });

  it("sends over smtps:// with the URL's login, verifying the server's certificate", async () => {
    expect(tlsServer.url).toMatch(/^smtps:\/\/relay:s3cret%20pass@127\.0\.0\.1:\d+$/);
    const mailer = mailerFrom({ SMTP_URL: tlsServer.url, MAIL_FROM: FROM }, { ca: getTestCertificates().ca })!;
    try {
      await mailer.send(message);
    } finally {
      mailer.close();
    }
    expect(tlsServer.mails).toHaveLength(1);
    expect(tlsServer.mails[0]).toMatchObject({
      from: "alerts@tryon-leads.example", to: ["owner@shop.example"], subject: "Hello", text: "Plain words.",
      messageId: "<m1@tryon-leads.example>",
    });
    expect(tlsServer.mails[0].raw).toContain(`From: "Try-on Leads" <alerts@tryon-leads.example>`);
  });

  it("refuses a server whose certificate it cannot trust, sending nothing", async () => {
    const mailer = mailerFrom({ SMTP_URL: tlsServer.url, MAIL_FROM: FROM })!;
    const before = tlsServer.mails.length;
    try {
      await expect(mailer.send(message)).rejects.toThrow(/certificate/i);
    } finally {
      mailer.close();
    }
    expect(tlsServer.mails).toHaveLength(before);
  });

  it("fails the send when the server refuses the login", async () => {
    const wrong = plain.url.replace("relay:right@", "relay:wrong@");
    const mailer = mailerFrom({ SMTP_URL: wrong, MAIL_FROM: FROM })!;
    try {
      await expect(mailer.send(message)).rejects.toThrow();
    } finally {
      mailer.close();
    }
    expect(plain.refusedLogins).toBe(1);
    expect(plain.mails).toHaveLength(0);
  });

  it("upgrades smtp:// with STARTTLS when the server offers it, verifying the certificate", async () => {
    const { key, cert, ca } = getTestCertificates();
    const server = await startSmtpReceiver({ user: "relay", password: "pw-587", starttls: { key, cert } });
    try {
      expect(server.url).toMatch(/^smtp:\/\//);
      const trusting = mailerFrom({ SMTP_URL: server.url, MAIL_FROM: FROM }, { ca })!;
      try {
        await trusting.send(message);
      } finally {
        trusting.close();
      }
      expect(server.mails).toHaveLength(1);
      expect(server.mails[0]).toMatchObject({ subject: "Hello", secure: true });

      // The offer is taken up, so an untrusted certificate stops the send rather than falling back to plain text.
      const untrusting = mailerFrom({ SMTP_URL: server.url, MAIL_FROM: FROM })!;
      try {
        await expect(untrusting.send(message)).rejects.toThrow(/certificate/i);
      } finally {
        untrusting.close();
      }
      expect(server.mails).toHaveLength(1);
      expect(server.loginAttempts).toBe(1);
    } finally {
      await server.close();
    }
  });

  // A server reached over a network (this machine's own non-loopback address) that offers no STARTTLS, as one
  // would look with the offer stripped on the way: the login is never sent in the clear.
  const networkAddress = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === "IPv4" && !i.internal)?.address;
  it.skipIf(!networkAddress)("refuses to send a login in the clear to a server off this machine's loopback", async () => {
    const server = await startSmtpReceiver({ user: "relay", password: "never-in-clear", host: networkAddress });
    try {
      const mailer = mailerFrom({ SMTP_URL: server.url, MAIL_FROM: FROM })!;
      try {
        await expect(mailer.send(message)).rejects.toThrow(/STARTTLS/i);
      } finally {
        mailer.close();
      }
      expect(server.loginAttempts).toBe(0);
      expect(server.mails).toHaveLength(0);

      // Without a login there is nothing to protect: a server there that needs none takes the mail over plain smtp://.
      const open = await startSmtpReceiver({ host: networkAddress });
      const anonymous = mailerFrom({ SMTP_URL: open.url, MAIL_FROM: FROM })!;
      try {
        await anonymous.send(message);
      } finally {
        anonymous.close();
        await open.close();
      }
      expect(open.mails).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it("is absent without SMTP_URL and MAIL_FROM, and names the server without its login", () => {
    expect(mailerFrom({ SMTP_URL: undefined, MAIL_FROM: undefined })).toBeNull();
    expect(mailerFrom({ SMTP_URL: plain.url, MAIL_FROM: undefined })).toBeNull();
    expect(smtpServerOf({ SMTP_URL: "smtps://user:pw@mail.example.com", MAIL_FROM: FROM })).toBe("mail.example.com:465");
    expect(smtpServerOf({ SMTP_URL: "smtp://user:pw@mail.example.com:2525", MAIL_FROM: FROM })).toBe("mail.example.com:2525");
  });
});
