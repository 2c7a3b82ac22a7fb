import { readdirSync, readFileSync, statSync } from "node:fs";
import { request } from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBuiltAppServer, type BuiltAppServer } from "../support/app-server";

/**
 * The production build's browser files are compressed once, at build time, and served as the browser asks:
 * brotli or gzip with the matching Content-Encoding, the plain file otherwise, always with the year-long immutable
 * cache header their hashed names allow. Read over raw HTTP, so the bytes on the wire are what is measured.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const ASSETS = path.join(ROOT, "build/client/assets");

function get(url: string, acceptEncoding?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: acceptEncoding ? { "Accept-Encoding": acceptEncoding } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

// The build does not depend on the database: one project is enough.
describe.runIf(process.env.TEST_DB === "sqlite")("compressed browser assets of the production build", () => {
  let server: BuiltAppServer;
  let asset: string;
  let raw: Buffer;

  beforeAll(async () => {
    // The largest hashed script: the one compression matters most for.
    const scripts = readdirSync(ASSETS).filter((name) => /-[A-Za-z0-9_-]{8}\.js$/.test(name));
    asset = scripts.sort((a, b) => statSync(path.join(ASSETS, b)).size - statSync(path.join(ASSETS, a)).size)[0];
    raw = readFileSync(path.join(ASSETS, asset));
    server = await startBuiltAppServer();
  });

  afterAll(async () => {
    await server?.close();
  });

  it("serves brotli to a browser that accepts it, smaller than the file, with the long immutable cache", async () => {
    expect(raw.length).toBeGreaterThan(10_000);
    const answer = await get(`${server.url}/assets/${asset}`, "gzip, deflate, br");
    expect(answer.status).toBe(200);
    expect(answer.headers["content-encoding"]).toBe("br");
    expect(answer.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(String(answer.headers.vary)).toMatch(/Accept-Encoding/i);
    expect(answer.headers["content-type"]).toMatch(/javascript/);
    expect(answer.body.length).toBeLessThan(raw.length / 2);
    expect(brotliDecompressSync(answer.body).equals(raw)).toBe(true);
  });

  it("serves gzip to a browser that accepts only gzip", async () => {
    const answer = await get(`${server.url}/assets/${asset}`, "gzip");
    expect(answer.headers["content-encoding"]).toBe("gzip");
    expect(answer.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(answer.body.length).toBeLessThan(raw.length / 2);
    expect(gunzipSync(answer.body).equals(raw)).toBe(true);
  });

  it("serves the file as is to a client that accepts no encoding", async () => {
    const answer = await get(`${server.url}/assets/${asset}`);
    expect(answer.status).toBe(200);
    expect(answer.headers["content-encoding"]).toBeUndefined();
    expect(answer.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(answer.body.equals(raw)).toBe(true);
  });
});
