import http from "node:http";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createExportTicket } from "../../app/leads/export-ticket.server";
import { getDb } from "../../app/lib/db.server";
import { startAppServer, type AppServer } from "../support/app-server";
import { seedLeads } from "../support/leads";
import { installShop, sessionToken } from "../support/shopify";
import { TEST_API_SECRET } from "../support/setup-env";

/**
 * The export over real HTTP, through Express and Remix as in production: the action's status is the
 * HTTP status, and a CSV whose stream fails after its 200 went out ends in a way every client can tell
 * from a complete file.
 */

const SHOP = "export-http.myshopify.com";
const BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";
let server: AppServer;
let shopId = "";

async function postExport(fields: Record<string, string>) {
  const response = await fetch(`${server.url}/app/leads/export`, {
    method: "POST",
    // The Shopify library answers self-identified bots (Node's own user agent among them) with 410.
    headers: { Authorization: `Bearer ${await sessionToken(SHOP)}`, "User-Agent": BROWSER },
    body: new URLSearchParams(fields),
  });
  const text = await response.text();
  if (!text) throw new Error(`export answered ${response.status} with no body (${[...response.headers].join("; ")})`);
  return { status: response.status, json: JSON.parse(text) as unknown };
}

/** How an HTTP/1.1 client saw the body end: complete, or cut short. */
function readOverHttp11(path: string): Promise<{ status: number; ending: "complete" | "cut short"; body: string }> {
  return new Promise((resolve, reject) => {
    let answer: http.IncomingMessage | undefined;
    let body = "";
    const cutShort = () => resolve({ status: answer!.statusCode!, ending: "cut short", body });
    http
      .get(`${server.url}${path}`, { agent: false }, (res) => {
        answer = res;
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode!, ending: res.complete ? "complete" : "cut short", body }));
        res.on("error", cutShort);
      })
      .on("error", (error) => (answer ? cutShort() : reject(error)));
  });
}

/**
 * An HTTP/1.0 client (as nginx talks to the app by default): the body has no length and no chunks, it
 * ends when the connection does. An orderly close means "complete"; only a reset says it was cut short.
 */
function readOverHttp10(path: string): Promise<{ head: string; ending: "orderly close" | "reset" }> {
  return new Promise((resolve, reject) => {
    const { port } = new URL(server.url);
    const socket = net.connect(Number(port), "127.0.0.1", () => {
      socket.write(`GET ${path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n`);
    });
    let received = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => (received += chunk));
    socket.on("end", () => resolve({ head: received.split("\r\n")[0], ending: "orderly close" }));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNRESET") resolve({ head: received.split("\r\n")[0], ending: "reset" });
      else reject(error);
    });
  });
}

/** Hides the leads table while `run` requests the CSV: the query of the first batch fails after the 200 and the header row. */
async function withLeadsTableMissing<T>(run: () => Promise<T>): Promise<T> {
  const db = getDb();
  await db.$executeRawUnsafe(`ALTER TABLE "Lead" RENAME TO "LeadHidden"`);
  try {
    return await run();
  } finally {
    await db.$executeRawUnsafe(`ALTER TABLE "LeadHidden" RENAME TO "Lead"`);
  }
}

describe("the export over HTTP", () => {
  beforeAll(async () => {
    shopId = (await installShop(SHOP)).id;
    await seedLeads(shopId, Array.from({ length: 30 }, (_, i) => ({ email: `http${i}@example.com` })));
    server = await startAppServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it("answers invalid filters with 422 and a JSON error naming the filter", async () => {
    expect(await postExport({ from: "2026-13-45x" })).toEqual({ status: 422, json: { error: { field: "from", message: "Dates are YYYY-MM-DD" } } });
    expect(await postExport({ from: "2026-03-02", to: "2026-03-01" })).toEqual({
      status: 422,
      json: { error: { field: "from", message: "The start date is after the end date" } },
    });
  });

  it("answers a NUL in a filter with 400 naming it, and valid filters with a download link", async () => {
    const refused = await postExport({ q: "a\u0000" });
    expect(refused).toEqual({ status: 400, json: { error: { field: "q", message: "q contains a control character" } } });
    const accepted = await postExport({ q: "http1" });
    expect(accepted.status).toBe(200);
    const csv = await readOverHttp11((accepted.json as { downloadUrl: string }).downloadUrl);
    expect(csv).toMatchObject({ status: 200, ending: "complete" });
    expect(csv.body.split("\r\n").filter(Boolean)).toHaveLength(1 + 11); // http1, http10..http19
  });

  it("ends a CSV that fails after it started so that no client takes it for a whole file: cut short over HTTP/1.1, reset over HTTP/1.0", async () => {
    const ticket = createExportTicket({ shopId, filters: {}, appSecret: TEST_API_SECRET });
    const chunked = await withLeadsTableMissing(() => readOverHttp11(`/exports/leads.csv?ticket=${ticket}`));
    expect(chunked.status).toBe(200);
    expect(chunked.body).toContain("lead_id,captured_at,email");
    expect(chunked.ending).toBe("cut short");
    const result = await withLeadsTableMissing(() => readOverHttp10(`/exports/leads.csv?ticket=${ticket}`));
    expect(result.head).toBe("HTTP/1.1 200 OK");
    expect(result.ending).toBe("reset");
    // Still readable end to end once the database answers again.
    const whole = await readOverHttp10(`/exports/leads.csv?ticket=${ticket}`);
    expect(whole).toEqual({ head: "HTTP/1.1 200 OK", ending: "orderly close" });
  });
});
