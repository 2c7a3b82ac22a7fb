import http from "node:http";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startAppServer, type AppServer } from "../support/app-server";
import { captureBody, proxyRequest } from "../support/app-proxy";
import { installShop } from "../support/shopify";

/**
 * The per-address capture limit over real HTTP, through the production server's request handling, with
 * one trusted proxy in front of the app (as with nginx on the same machine): the address is the entry
 * that proxy appended to X-Forwarded-For, never one the client wrote to its left, and without the header
 * the connection's own peer address, which only the server knows.
 */
vi.hoisted(() => {
  process.env.TRUSTED_PROXY_HOPS = "1";
});

const SHOP = "address-shop.myshopify.com";
/** DEFAULT_CAPTURE_LIMITS: 20 submissions per address per 10 minutes. */
const PER_ADDRESS = 20;
let server: AppServer;
let sent = 0;

/** A signed capture from the given local address (the whole 127.0.0.0/8 block is this machine). */
function capture(options: { forwardedFor?: string; localAddress?: string } = {}): Promise<number> {
  // Only the signed query is taken from it; the body and headers are written below.
  const { pathname, search } = new URL(proxyRequest(SHOP, null).url);
  const body = JSON.stringify(captureBody({ email: `address-${sent++}@example.com` }));
  return new Promise((resolve, reject) => {
    const request = http.request(`${server.url}${pathname}${search}`, {
      method: "POST",
      agent: false,
      localAddress: options.localAddress ?? "127.0.0.1",
      headers: {
        "Content-Type": "application/json",
        "Content-Length": Buffer.byteLength(body),
        ...(options.forwardedFor ? { "X-Forwarded-For": options.forwardedFor } : {}),
      },
    });
    request.on("response", (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode!));
    });
    request.on("error", reject);
    request.end(body);
  });
}

async function statuses(count: number, options: (i: number) => Parameters<typeof capture>[0]): Promise<number[]> {
  const all: number[] = [];
  for (let i = 0; i < count; i++) all.push(await capture(options(i)));
  return all;
}

describe("the client address of a capture, over HTTP with one trusted proxy", () => {
  beforeAll(async () => {
    await installShop(SHOP);
    server = await startAppServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it("ignores the addresses a client writes to the left of the proxy's entry, and tells apart two shoppers behind that proxy", async () => {
    const spoofing = await statuses(PER_ADDRESS + 1, (i) => ({ forwardedFor: `10.9.${i}.1, 192.0.2.${i}, 198.51.100.7` }));
    expect(spoofing.slice(0, PER_ADDRESS)).toEqual(Array(PER_ADDRESS).fill(201));
    expect(spoofing[PER_ADDRESS]).toBe(429);
    expect(await capture({ forwardedFor: "192.0.2.1, 198.51.100.8" })).toBe(201);
  });

  it("counts by the connection's peer address when no proxy named the client", async () => {
    const direct = await statuses(PER_ADDRESS + 1, () => ({ localAddress: "127.0.0.2" }));
    expect(direct.slice(0, PER_ADDRESS)).toEqual(Array(PER_ADDRESS).fill(201));
    expect(direct[PER_ADDRESS]).toBe(429);
    expect(await capture({ localAddress: "127.0.0.3" })).toBe(201);
  });
});
