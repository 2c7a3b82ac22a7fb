import http from "node:http";

export interface DownloadResult {
  status: number;
  bytes: number;
  /** CSV records, header included, counted outside quoted fields (a quoted field may hold a line break). */
  records: number;
  bom: boolean;
  firstByteMs: number;
  totalMs: number;
  contentType: string | null;
}

/**
 * Downloads a URL and counts bytes and CSV records as they arrive, keeping nothing: memory stays flat on
 * the client whatever the size of the file.
 */
export function downloadCsv(url: string): Promise<DownloadResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.get(url, { agent: false }, (res) => {
      const firstByteMs = performance.now() - started;
      let bytes = 0;
      let records = 0;
      let inQuotes = false;
      let bom: boolean | null = null;
      res.on("data", (chunk: Buffer) => {
        if (bom === null) bom = chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf;
        bytes += chunk.length;
        const len = chunk.length;
        let i = 0;
        let nextQuote = chunk.indexOf(34, 0);
        while (i < len) {
          if (inQuotes) {
            // Inside a quoted field only a quote matters ("" closes and reopens, which nets out).
            if (nextQuote < 0) break;
            inQuotes = false;
            i = nextQuote + 1;
            nextQuote = chunk.indexOf(34, i);
            continue;
          }
          const nextLine = chunk.indexOf(10, i);
          if (nextQuote >= 0 && (nextLine < 0 || nextQuote < nextLine)) {
            inQuotes = true;
            i = nextQuote + 1;
            nextQuote = chunk.indexOf(34, i);
            continue;
          }
          if (nextLine < 0) break;
          records++;
          i = nextLine + 1;
        }
      });
      res.on("end", () => resolve({
        status: res.statusCode ?? 0, bytes, records, bom: Boolean(bom), firstByteMs,
        totalMs: performance.now() - started, contentType: res.headers["content-type"] ?? null,
      }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

/**
 * A slow download: reads at most `bytesPerSecond`, then hangs up after `durationMs`, as a browser on a
 * slow link that gives up would. Returns the bytes it read.
 */
export function downloadThrottled(url: string, bytesPerSecond: number, durationMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let bytes = 0;
    const req = http.get(url, { agent: false }, (res) => {
      res.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        const elapsed = performance.now() - started;
        const ahead = (bytes / bytesPerSecond) * 1000 - elapsed;
        if (ahead > 0) {
          res.pause();
          setTimeout(() => res.resume(), ahead);
        }
      });
      res.on("error", () => undefined);
      res.on("end", () => resolve(bytes));
    });
    req.on("error", (error) => (performance.now() - started >= durationMs ? resolve(bytes) : reject(error)));
    setTimeout(() => {
      req.destroy();
      resolve(bytes);
    }, durationMs);
  });
}
