/**
 * The JSON log lines a child process wrote to stdout (the app logs with pino, one object a line), so that a
 * test can tell which process did what. Lines that are not JSON (the `ready` announcement) are skipped.
 */
export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export function workerLogLines(stdout: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const text of stdout.split("\n")) {
    if (!text.startsWith("{")) continue;
    try {
      lines.push(JSON.parse(text) as LogLine);
    } catch {
      // a line cut short by the process's end
    }
  }
  return lines;
}
