import type { Express, NextFunction, Request, Response } from "express";
import type { Server } from "node:http";

export interface ErrorLocation {
  method?: string;
  path?: string;
  source?: string;
}

export function mountRemix(
  app: Express,
  options: {
    build: unknown;
    mode?: string;
    loadContext?: Record<string, unknown>;
    reportError: (error: unknown, where: ErrorLocation) => void;
  },
): void;

export function errorHandler(
  reportError: (error: unknown, where: ErrorLocation) => void,
): (error: unknown, req: Request, res: Response, next: NextFunction) => void;

export function startHttpServer(options?: { port?: number; host?: string; loadContext?: Record<string, unknown> }): Promise<{
  build: { entry: { module: Record<string, unknown> } };
  server: Server;
  port: number;
  close(graceMs?: number): Promise<void>;
}>;
