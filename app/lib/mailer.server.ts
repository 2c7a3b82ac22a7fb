import tls from "node:tls";
import nodemailer from "nodemailer";
import type { AppConfig } from "./config.server";

/**
 * Outgoing email through the SMTP server the operator configured (SMTP_URL, MAIL_FROM). Without one, there is
 * no mailer at all: callers ask `mailerFrom` and get null, and say so rather than pretend to send. The SMTP URL
 * holds a password: it is never logged or shown; `server` is its host and port only.
 */

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /**
   * A stable Message-ID for one piece of news, so that in the rare case it goes out twice (a process stopped
   * between the server accepting it and the app noting it), mail clients that dedupe on it show it once.
   */
  messageId?: string;
}

export interface Mailer {
  /** `smtp.example.com:587`: where mail goes, for the settings page and logs. */
  readonly server: string;
  /** Resolves once the SMTP server accepted the message; rejects otherwise. */
  send(message: MailMessage): Promise<void>;
  close(): void;
}

/** Bounds on each step of a send, so a stuck server cannot hold a worker's round for minutes. */
const CONNECT_TIMEOUT_MS = 10_000;
const GREETING_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 30_000;

export type MailConfig = Pick<AppConfig, "SMTP_URL" | "MAIL_FROM">;

function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** `host:port` of the configured server, or null when none is: never the user name or password. */
export function smtpServerOf(config: MailConfig): string | null {
  if (!config.SMTP_URL || !config.MAIL_FROM) return null;
  const url = new URL(config.SMTP_URL);
  const port = url.port || (url.protocol === "smtps:" ? "465" : "587");
  return `${url.hostname}:${port}`;
}

export interface MailerOptions {
  /** Extra trusted root certificates (PEM) for the server's TLS, next to the system's (tests, a private relay). */
  ca?: string;
}

/** A mailer for the configured SMTP server, or null when SMTP_URL (with MAIL_FROM) is not set. */
export function mailerFrom(config: MailConfig, options: MailerOptions = {}): Mailer | null {
  const server = smtpServerOf(config);
  if (!server || !config.SMTP_URL || !config.MAIL_FROM) return null;
  const url = new URL(config.SMTP_URL);
  const secure = url.protocol === "smtps:";
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const transport = nodemailer.createTransport({
    host,
    port: Number(url.port || (secure ? 465 : 587)),
    // smtps: TLS from the first byte; smtp: STARTTLS whenever the server offers it, and required before a
    // login (a server that does not offer it, or a network that strips the offer, fails the send before the
    // password is sent), unless the server is on this machine's loopback and nothing crosses a network.
    secure,
    requireTLS: !secure && url.username !== "" && !isLoopbackHost(host),
    auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
    connectionTimeout: CONNECT_TIMEOUT_MS,
    greetingTimeout: GREETING_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
    // Certificates are always verified; an extra root adds to the system's, never replaces them.
    tls: options.ca ? { ca: [...tls.rootCertificates, options.ca] } : undefined,
    // Nodemailer's own logger stays off: it would print addresses and the conversation.
    logger: false,
  });
  const from = config.MAIL_FROM;
  return {
    server,
    async send(message) {
      await transport.sendMail({
        from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        ...(message.html ? { html: message.html } : {}),
        ...(message.messageId ? { messageId: message.messageId } : {}),
      });
    },
    close() {
      transport.close();
    },
  };
}
