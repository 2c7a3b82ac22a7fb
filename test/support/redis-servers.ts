import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";

/**
 * Redis servers of a test's own, as child processes of the test on free loopback ports, with no persistence:
 * a single node the test may kill (a Redis that goes away) or a real Redis Cluster of several masters made
 * with `redis-cli --cluster create`. Everything lives in a temporary directory removed at `stop()`.
 */

/** Why the servers cannot be started here (redis-server or redis-cli missing), or null. */
export function redisToolsMissing(): string | null {
  for (const tool of ["redis-server", "redis-cli"]) {
    if (spawnSync(tool, ["--version"], { stdio: "ignore" }).error) return `${tool} is not installed (scripts/services.sh installs it)`;
  }
  return null;
}

/** A port nothing listens on now (the kernel's pick), for a server started right after. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once("error", reject).listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export interface RedisServer {
  port: number;
  url: string;
  /** SIGKILLs the server (as a crash or a lost machine would end it); resolves once it has exited. */
  kill(): Promise<void>;
  /** Starts it again on the same port and settings, empty (no persistence); resolves once it answers. */
  restart(): Promise<void>;
  /** The server's log, for failure messages. */
  log(): string;
}

async function spawnRedis(dir: string, port: number, extra: string[]): Promise<RedisServer> {
  const logFile = path.join(dir, `redis-${port}.log`);
  const log = () => {
    try {
      return readFileSync(logFile, "utf8").slice(-2000);
    } catch {
      return "";
    }
  };
  let child: ChildProcess;
  let exited: Promise<void>;
  const start = async () => {
    child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--logfile", logFile, ...extra],
      { stdio: "ignore" },
    );
    exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited at start: ${log()}`);
      const client = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on("error", () => undefined);
      const ok = await client.connect().then(() => client.ping(), () => null);
      client.disconnect();
      if (ok === "PONG") return;
      if (Date.now() > deadline) {
        await server.kill();
        throw new Error(`redis-server on port ${port} did not answer: ${log()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
    restart: start,
    log,
  };
  await start();
  return server;
}

/** One Redis node on a free port. */
export async function startRedisServer(): Promise<RedisServer & { stop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tryon-redis-"));
  const server = await spawnRedis(dir, await freePort(), []);
  return {
    ...server,
    async stop() {
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisCluster {
  masters: RedisServer[];
  /** The seed nodes as REDIS_CLUSTER_NODES takes them (`127.0.0.1:7000,127.0.0.1:7001,…`). */
  nodesSetting: string;
  nodes: { host: string; port: number }[];
  /** Keys matching `pattern` on each master (SCAN on that node alone), by port. */
  keysByNode(pattern: string): Promise<Map<number, string[]>>;
  /** The master that serves a key's slot. */
  portOfKey(key: string): Promise<number>;
  /** SIGKILLs every master: the whole cluster is gone. */
  killAll(): Promise<void>;
  /** Starts every master again, empty but with its cluster configuration; resolves once the cluster is ok. */
  restartAll(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A Redis Cluster of `masterCount` masters and no replicas, ready (`cluster_state:ok` on every node, every
 * node knowing every other) when it resolves. Node timeouts are short so that a test never waits on them.
 */
export async function startRedisCluster(masterCount = 3): Promise<RedisCluster> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tryon-redis-cluster-"));
  const masters: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(masters.map((m) => m.kill()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masterCount; i++) {
      const [port, busPort] = [await freePort(), await freePort()];
      masters.push(
        await spawnRedis(dir, port, [
          "--cluster-enabled", "yes", "--cluster-config-file", `nodes-${port}.conf`, "--cluster-port", String(busPort),
          "--cluster-node-timeout", "3000",
        ]),
      );
    }
    const addresses = masters.map((m) => `127.0.0.1:${m.port}`);
    const created = spawnSync("redis-cli", ["--cluster", "create", ...addresses, "--cluster-replicas", "0", "--cluster-yes"], {
      encoding: "utf8",
      timeout: 60_000,
    });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    await waitForClusterOk(masters);
  } catch (error) {
    await stop();
    throw error;
  }
  const withNode = async <T>(port: number, work: (client: Redis) => Promise<T>): Promise<T> => {
    const client = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 1 });
    try {
      return await work(client);
    } finally {
      client.disconnect();
    }
  };
  const nodes = masters.map((m) => ({ host: "127.0.0.1", port: m.port }));
  return {
    masters,
    nodes,
    nodesSetting: nodes.map((n) => `${n.host}:${n.port}`).join(","),
    async keysByNode(pattern) {
      const found = new Map<number, string[]>();
      for (const master of masters) {
        found.set(
          master.port,
          await withNode(master.port, async (client) => {
            const keys: string[] = [];
            let cursor = "0";
            do {
              const [next, batch] = await client.scan(cursor, "MATCH", pattern, "COUNT", 1000);
              keys.push(...batch);
              cursor = next;
            } while (cursor !== "0");
            return keys;
          }),
        );
      }
      return found;
    },
    async portOfKey(key) {
      return withNode(masters[0].port, async (client) => {
        const slot = Number(await client.call("CLUSTER", "KEYSLOT", key));
        const ranges = (await client.call("CLUSTER", "SLOTS")) as [number, number, [string, number]][];
        const range = ranges.find(([from, to]) => slot >= from && slot <= to);
        if (!range) throw new Error(`no node serves slot ${slot}`);
        return Number(range[2][1]);
      });
    },
    async killAll() {
      await Promise.all(masters.map((m) => m.kill()));
    },
    async restartAll() {
      await Promise.all(masters.map((m) => m.restart()));
      await waitForClusterOk(masters);
    },
    stop,
  };
}

async function waitForClusterOk(masters: RedisServer[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const states = await Promise.all(
      masters.map(async (m) => {
        const client = new Redis({ port: m.port, host: "127.0.0.1", maxRetriesPerRequest: 1 });
        client.on("error", () => undefined);
        try {
          const info = String(await client.call("CLUSTER", "INFO"));
          const nodes = String(await client.call("CLUSTER", "NODES")).trim().split("\n");
          const liveMasters = nodes.filter((l) => l.includes("master") && !l.includes("fail") && l.includes("connected")).length;
          return info.includes("cluster_state:ok") && liveMasters === masters.length;
        } catch {
          return false;
        } finally {
          client.disconnect();
        }
      }),
    );
    if (states.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error("the Redis Cluster did not reach cluster_state:ok within 30 s");
    await new Promise((r) => setTimeout(r, 100));
  }
}
