import { spawn } from "node:child_process";
import { request as httpRequest } from "node:http";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { captureBody, randomIp, signProxyQuery } from "./app-proxy";
import { freePort } from "./redis-servers";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * `node server.mjs` on the production build (made once per run by test/support/production-build.ts), in a
 * process of its own with the test's environment plus `env`: exactly what `npm run serve` runs.
 */
export interface WebProcess {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  pid: number;
  /** Resolves when the process has exited: its code, or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** stdout and stderr so far, for failure messages. */
  output(): string;
  /** SIGKILLs it; quiet if it is gone already. */
  kill(): void;
}

export async function startServerMjs(env: Record<string, string>, timeoutMs = 60_000): Promise<WebProcess> {
  const child = spawn(process.execPath, ["server.mjs"], {
    cwd: ROOT,
    // The configuration takes ports from 1: a free one, picked just before.
    env: { ...process.env, PORT: String(await freePort()), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server.mjs did not start within ${timeoutMs} ms: ${output.slice(-2000)}`)), timeoutMs);
    child.stdout!.on("data", () => {
      const match = /listening on http:\/\/localhost:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`server.mjs exited at start (${code}): ${output.slice(-2000)}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    exited,
    output: () => output,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

/**
 * One storefront submission through the app's capture route over HTTP, signed as Shopify's app proxy signs
 * what it forwards, with the shopper's address in X-Forwarded-For as the proxy appends it.
 */
export async function postCapture(baseUrl: string, shop: string, overrides: Record<string, unknown> = {}): Promise<{ status: number; leadId?: string; email: string }> {
  const params: [string, string][] = [
    ["shop", shop],
    ["logged_in_customer_id", ""],
    ["path_prefix", "/apps/tryon-leads"],
    ["timestamp", String(Math.trunc(Date.now() / 1000))],
  ];
  const query = new URLSearchParams([...params, ["signature", signProxyQuery(params)]]);
  const body = captureBody({ idempotencyKey: randomUUID(), ...overrides });
  const response = await fetch(`${baseUrl}/proxy/capture?${query}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Forwarded-For": randomIp() },
    body: JSON.stringify(body),
    // A capture that hangs fails the test here, with a reason, rather than at the test's own timeout.
    signal: AbortSignal.timeout(20_000),
  });
  const answer = (await response.json().catch(() => ({}))) as { leadId?: string };
  return { status: response.status, leadId: answer.leadId, email: body.email as string };
}

/**
 * A storefront capture sent as Shopify's app proxy forwards it, whose body arrives in two parts: the first
 * now, the rest when `finish()` is called. `response` settles with the answer, or fails if the connection
 * is dropped first.
 */
export async function slowCapture(base: string, shop: string) {
  const params: [string, string][] = [
    ["shop", shop], ["logged_in_customer_id", ""], ["path_prefix", "/apps/tryon-leads"], ["timestamp", String(Math.trunc(Date.now() / 1000))],
  ];
  const query = new URLSearchParams([...params, ["signature", signProxyQuery(params)]]);
  const body = Buffer.from(JSON.stringify(captureBody()));
  const req = httpRequest(`${base}/proxy/capture?${query}`, {
    method: "POST",
    headers: { "content-type": "application/json", "content-length": String(body.length) },
  });
  const response = new Promise<{ status: number; leadId?: string }>((resolve, reject) => {
    req.on("response", (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, leadId: (JSON.parse(text || "{}") as { leadId?: string }).leadId }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
  response.catch(() => undefined);
  req.write(body.subarray(0, 20));
  // The headers and the first bytes are on the server before the test goes on.
  await new Promise<void>((resolve) => req.once("socket", (socket) => (socket.connecting ? socket.once("connect", resolve) : resolve())));
  await new Promise((r) => setTimeout(r, 100));
  return {
    response,
    finish() {
      req.end(body.subarray(20));
      return response;
    },
  };
}
