import http from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import express from "express";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../../app/lib/logger.server";
import { reportUnhandledError } from "../../app/lib/error-reporting.server";
import { errorHandler } from "../../server-app.mjs";

/**
 * Errors nobody handled (in a loader, an action, a render, or after Remix in Express) are written through
 * the redacting logger: a shopper's email in an error's message never reaches the output, raw or in the
 * stack, and neither does the query string.
 */

const lines: string[] = [];
const captured = createLogger({
  level: "trace",
  destination: new Writable({
    write(chunk, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  }),
});

vi.mock("../../app/lib/logger.server", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../app/lib/logger.server")>();
  return { ...original, getLogger: () => captured };
});

const EMAIL = "jane.doe+vip@example.com";
const output = () => lines.join("");

afterEach(() => {
  lines.length = 0;
});

function expectReportedWithoutEmail(path: string) {
  const text = output();
  expect(text).not.toContain(EMAIL);
  expect(text).not.toContain("jane.doe");
  const entry = lines.map((line) => JSON.parse(line)).find((e) => e.msg === "unhandled error");
  expect(entry).toMatchObject({ level: 50, msg: "unhandled error", path });
  expect(entry.err.message).toBe("could not tag [email]");
  expect(entry.stack).toMatch(/^Error: could not tag \[email\]\n\s+at /);
}

describe("error reporting", () => {
  it("Remix's handleError logs through the redacting logger, with the path and not the query", async () => {
    const { handleError } = await import("../../app/entry.server");
    const request = new Request(`https://app.example/app/leads?q=${encodeURIComponent(EMAIL)}&id_token=eyJsecret`);
    handleError(new Error(`could not tag ${EMAIL}`), { request, params: {}, context: {} });
    expectReportedWithoutEmail("/app/leads");
    expect(output()).not.toContain("id_token");
  });

  it("Remix's handleError unwraps a route error response and stays quiet for a client that went away", async () => {
    const { handleError } = await import("../../app/entry.server");
    const wrapped = { status: 500, statusText: "Internal Server Error", internal: true, data: "", error: new Error(`could not tag ${EMAIL}`) };
    handleError(wrapped, { request: new Request("https://app.example/app/privacy"), params: {}, context: {} });
    expectReportedWithoutEmail("/app/privacy");
    lines.length = 0;
    const controller = new AbortController();
    controller.abort();
    handleError(new Error(EMAIL), { request: new Request("https://app.example/app", { signal: controller.signal }), params: {}, context: {} });
    expect(lines).toEqual([]);
  });

  it("the server's logServerError logs through the redacting logger", async () => {
    const { logServerError } = await import("../../app/entry.server");
    logServerError(new Error(`could not tag ${EMAIL}`), { method: "GET", path: "/exports/leads.csv" });
    expectReportedWithoutEmail("/exports/leads.csv");
  });

  it("Express's last handler reports the error and answers a plain 500 that does not echo it", async () => {
    const app = express();
    app.get("/boom", () => {
      throw new Error(`could not tag ${EMAIL}`);
    });
    app.use(errorHandler((error, where) => reportUnhandledError(captured, error, where)));
    const server = await new Promise<http.Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/boom?email=${encodeURIComponent(EMAIL)}`);
      expect(response.status).toBe(500);
      expect(await response.text()).toBe("Internal Server Error");
      expectReportedWithoutEmail("/boom");
    } finally {
      server.close();
    }
  });
});
