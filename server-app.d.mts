import type { Server } from "node:http";
export function startHttpServer(options?: { port?: number; host?: string; loadContext?: Record<string, unknown> }): Promise<{
  build: { entry: { module: Record<string, unknown> } };
  server: Server;
  port: number;
  close(graceMs?: number): Promise<void>;
}>;
