import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

/**
 * Runs a TypeScript test-support script in a child process through `npx tsx`, with the test's environment
 * (database, Redis, keys). The script prints `ready <pid>` with its own pid: `npx` and `tsx` each put a
 * launcher process in front of it, and a SIGKILL must reach the process doing the work.
 */
export interface TsxChild {
  /** The script's own process. */
  pid: number;
  /** Resolves when the launcher exits, with its exit code (which mirrors the script's). */
  exited: Promise<number | null>;
  /** Output so far, for failure messages (and what the script announced on stdout). */
  stderr(): string;
  stdout(): string;
  /** SIGKILLs the script and its launcher, by their ids; quiet if they are gone already. */
  kill(): void;
}

export interface TsxChildOptions {
  /** How long the script may take to print `ready`. @defaultValue 20000 */
  timeoutMs?: number;
  /** Settings of this child only, over the test's environment. */
  env?: Record<string, string>;
}

export async function startTsxChild(script: string, args: unknown, options: TsxChildOptions = {}): Promise<TsxChild> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const launcher = spawn("npx", ["tsx", script, JSON.stringify(args)], { env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  let stdout = "";
  launcher.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  launcher.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => launcher.once("exit", (code) => resolve(code)));
  const pid = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start: ${stderr.slice(-2000)}`)), timeoutMs);
    launcher.stdout?.on("data", () => {
      const match = /ready (\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    launcher.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited early (${code}): ${stderr.slice(-2000)}`));
    });
  });
  return {
    pid,
    exited,
    stderr: () => stderr,
    stdout: () => stdout,
    kill() {
      for (const target of [pid, launcher.pid]) {
        try {
          if (target) process.kill(target, "SIGKILL");
        } catch {
          // already gone
        }
      }
    },
  };
}

/**
 * Whether a process has ended: gone, or (on Linux) a zombie its parent has yet to reap, so that a test can
 * time a process's own exit rather than that of the launchers in front of it.
 */
export function hasExited(pid: number): boolean {
  if (process.platform === "linux") {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
    } catch {
      return true;
    }
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}
