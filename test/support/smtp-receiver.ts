import type { AddressInfo } from "node:net";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

/**
 * A real SMTP server on loopback (the `smtp-server` package) that keeps every message it accepts, parsed
 * with `mailparser`, so tests read what a merchant's mailbox would get. It can require a user name and
 * password (to prove SMTP_URL's credentials are used) and refuse messages (a mail server that is down).
 */

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  messageId: string | undefined;
  /** The whole message as it came over the wire. */
  raw: string;
  /** Whether the connection was encrypted when the message came (smtps://, or upgraded with STARTTLS). */
  secure: boolean;
}

export interface SmtpReceiver {
  /** smtp://user:pass@127.0.0.1:port (credentials only when required). */
  url: string;
  mails: ReceivedMail[];
  /** Messages refused from now on with a 451 until set back to false. */
  refuse: boolean;
  /** Logins that were refused. */
  refusedLogins: number;
  /** Logins tried at all (each one sent the password). */
  loginAttempts: number;
  close(): Promise<void>;
}

export interface SmtpReceiverOptions {
  user?: string;
  password?: string;
  /** With a certificate: TLS from the first byte (smtps://), as on port 465. */
  tls?: { key: string; cert: string };
  /** With a certificate: a plain smtp:// server that offers STARTTLS, as on port 587. */
  starttls?: { key: string; cert: string };
  /** Where to listen and what the URL names (loopback by default). */
  host?: string;
}

export async function startSmtpReceiver(options: SmtpReceiverOptions = {}): Promise<SmtpReceiver> {
  const mails: ReceivedMail[] = [];
  const state = { refuse: false, refusedLogins: 0, loginAttempts: 0 };
  const needsAuth = options.user !== undefined;
  const certificate = options.tls ?? options.starttls;
  const server = new SMTPServer({
    ...(certificate ? { secure: Boolean(options.tls), key: certificate.key, cert: certificate.cert } : {}),
    // Without a certificate STARTTLS is not offered, so the client does not try it.
    disabledCommands: [...(options.starttls ? [] : ["STARTTLS"]), ...(needsAuth ? [] : ["AUTH"])],
    authOptional: !needsAuth,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      state.loginAttempts++;
      if (auth.username === options.user && auth.password === options.password) return callback(null, { user: auth.username });
      state.refusedLogins++;
      return callback(new Error("Invalid username or password"));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        if (state.refuse) {
          const error = Object.assign(new Error("Try again later"), { responseCode: 451 });
          return callback(error);
        }
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then(
          (parsed) => {
            mails.push({
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
              to: session.envelope.rcptTo.map((r) => r.address),
              subject: parsed.subject ?? "",
              text: parsed.text ?? "",
              html: typeof parsed.html === "string" ? parsed.html : "",
              messageId: parsed.messageId,
              raw: raw.toString("utf8"),
              secure: session.secure,
            });
            callback();
          },
          (error: Error) => callback(error),
        );
      });
    },
  });
  // A client that drops the connection (one that does not trust the certificate, say) is an error event
  // of the server's; the test looks at what was received instead.
  server.on("error", () => undefined);
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  const credentials = needsAuth ? `${encodeURIComponent(options.user!)}:${encodeURIComponent(options.password ?? "")}@` : "";
  const receiver: SmtpReceiver = {
    url: `${options.tls ? "smtps" : "smtp"}://${credentials}${host.includes(":") ? `[${host}]` : host}:${port}`,
    mails,
    get refuse() {
      return state.refuse;
    },
    set refuse(value: boolean) {
      state.refuse = value;
    },
    get refusedLogins() {
      return state.refusedLogins;
    },
    get loginAttempts() {
      return state.loginAttempts;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return receiver;
}
