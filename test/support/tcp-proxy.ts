import { createConnection, createServer, type Socket } from "node:net";

/**
 * A TCP relay on loopback in front of a service (PostgreSQL, say), so that a test can take the service away
 * from one process only: `blackhole()` stops relaying bytes on every connection and leaves new ones
 * unanswered, as a network partition does (queries neither fail nor finish); `close()` drops everything.
 */
export interface TcpProxy {
  port: number;
  blackhole(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let holeUp = false;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };
  const server = createServer((client) => {
    track(client);
    if (holeUp) return; // accepted, never answered
    const upstream = createConnection(target);
    track(upstream);
    client.on("data", (chunk) => void (holeUp || upstream.write(chunk)));
    upstream.on("data", (chunk) => void (holeUp || client.write(chunk)));
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    blackhole() {
      holeUp = true;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The same database URL through the proxy. */
export function throughProxy(databaseUrl: string, proxy: TcpProxy): string {
  const url = new URL(databaseUrl);
  url.hostname = "127.0.0.1";
  url.port = String(proxy.port);
  return url.toString();
}
