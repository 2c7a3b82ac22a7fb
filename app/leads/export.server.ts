import pg from "pg";
import { getConfig } from "../lib/config.server";
import type { Db } from "../lib/db.server";
import { csvCell, csvRow } from "./csv";
import type { LeadFilters } from "./filters";

export const EXPORT_COLUMNS = [
  "lead_id", "captured_at", "email", "product_id", "product_title", "product_url", "variant_id", "variant_title",
  "tagged_in_shopify", "consent", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "page_url",
] as const;

/** Rows fetched per query while streaming: big enough to amortise a round trip, small enough to keep memory flat. */
export const EXPORT_BATCH_SIZE = 2000;

/**
 * Every lead of a shop (or the filtered set) as CSV, newest first, streamed batch by batch with a keyset,
 * so memory holds about one batch whatever the row count. Starts with a UTF-8 byte order mark so Excel
 * reads accented names correctly. Same bytes on both databases, by two routes:
 *
 * - PostgreSQL: each batch is a `COPY (SELECT …) TO STDOUT (FORMAT csv)` on a connection to the app's
 *   database (DATABASE_URL). PostgreSQL writes the CSV itself, quoting exactly the cells that hold a
 *   comma, quote, CR or LF and doubling quotes, as `csvCell` does; each row arrives as bytes, gets the
 *   formula guard and empty-cell rule of `csvCell` applied on the bytes and a CRLF ending, and is copied
 *   to the response: no per-row objects, no text decoding. Used only while `csvCell` behaves as this
 *   route assumes (checked once at load against `csvCell` itself).
 * - SQLite (and the fallback): each batch is one query returning the rows as one JSON text, parsed and
 *   written with `csvRow`.
 *
 * Pass the request's `signal` to stop as soon as the client goes away, instead of reading the rest of
 * the table for nobody: the stream then errors.
 */
export function exportLeadsCsv({ db, shopId, filters, batchSize = EXPORT_BATCH_SIZE, signal }: {
  db: Db; shopId: string; filters: LeadFilters; batchSize?: number; signal?: AbortSignal;
}): ReadableStream<Uint8Array> {
  const dialect = dialectOf(db);
  const fetchBatch: BatchFetcher = dialect === "postgresql" && COPY_MATCHES_CSV_CELL
    ? (cursor, out) => copyBatch(shopId, filters, cursor, batchSize, out)
    : (cursor, out) => jsonBatch(db, dialect, shopId, filters, cursor, batchSize, out);
  let cursor: BatchCursor | null = null;
  let started = false;
  let finished = false;

  return new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      if (!started) {
        started = true;
        controller.enqueue(new TextEncoder().encode("\ufeff" + csvRow(EXPORT_COLUMNS)));
        return;
      }
      if (finished) return;
      if (signal?.aborted) {
        finished = true;
        controller.error(signal.reason ?? new Error("Export aborted"));
        return;
      }
      const out = new ChunkWriter((chunk) => controller.enqueue(chunk));
      // Each batch starts from a fresh event-loop turn. SQLite runs in this thread and answers at once, so
      // without this turn the whole export would run as one chain of promise callbacks, the socket would
      // never get to send, and the entire file would pile up in memory first.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const { rows, last } = await fetchBatch(cursor, out);
      out.flush();
      if (rows < batchSize || !last) {
        finished = true;
        controller.close();
      } else {
        cursor = last;
      }
    },
    cancel: () => {
      finished = true;
    },
  });
}

/** The last row of a batch: its capture time as the database's own text for it, and its id. */
interface BatchCursor {
  at: string;
  id: string;
}

type BatchFetcher = (cursor: BatchCursor | null, out: ChunkWriter) => Promise<{ rows: number; last: BatchCursor | null }>;

/** Bytes per enqueued chunk. */
const CHUNK_BYTES = 256 * 1024;

/** Collects output bytes into chunks of about CHUNK_BYTES and hands each one on when full. */
class ChunkWriter {
  private chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  constructor(private readonly emit: (chunk: Uint8Array) => void) {}

  private room(bytes: number) {
    if (this.chunk.length - this.used >= bytes) return;
    this.flush();
    this.chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, bytes));
  }

  /** A CSV line as text (a UTF-8 character takes at most 3 bytes per UTF-16 unit). */
  text(line: string) {
    this.room(line.length * 3);
    this.used += this.chunk.write(line, this.used, "utf8");
  }

  /** Room for `bytes` more bytes, written with `bytes` and `byte` below. */
  reserve(bytes: number) {
    this.room(bytes);
  }

  /** Bytes `start`..`end` of `source` (after `reserve`). */
  bytes(source: Buffer, start: number, end: number) {
    this.used += source.copy(this.chunk, this.used, start, end);
  }

  /** One byte (after `reserve`). */
  byte(value: number) {
    this.chunk[this.used++] = value;
  }

  flush() {
    if (this.used === 0) return;
    this.emit(this.chunk.subarray(0, this.used));
    this.chunk = this.chunk.subarray(this.used);
    this.used = 0;
  }
}

type Dialect = "postgresql" | "sqlite";

function dialectOf(db: Db): Dialect {
  const provider = (db as unknown as { _activeProvider?: string })._activeProvider;
  return provider === "postgresql" || provider === "postgres" ? "postgresql" : "sqlite";
}

const SQL_COLUMNS = [
  "id", "capturedAt", "email", "productId", "productTitle", "productUrl", "variantId", "variantTitle", "tagged", "consent",
  "utmSource", "utmMedium", "utmCampaign", "utmTerm", "utmContent", "pageUrl",
] as const;
const ORDER = `"capturedAt" DESC, "id" DESC`;
/** Upper bound for an email prefix range, as in `leadsWhere`. */
const PREFIX_END = "\uffff";

/**
 * The conditions of a batch: the shop's leads under the filters (the same conditions as `leadsWhere`),
 * strictly after the cursor in (capturedAt desc, id desc) order (the same shape as `cursorWhere`, so the
 * index range starts at the cursor). `value` renders a value into the SQL (a placeholder or a literal).
 */
function batchConditions(
  dialect: Dialect, shopId: string, filters: LeadFilters, cursor: BatchCursor | null, value: (v: string) => string,
): string {
  const pg = dialect === "postgresql";
  const time = (text: string) => (pg ? `${value(text)}::timestamp(3)` : value(text));
  const where = [`"shopId" = ${value(shopId)}`];
  if (filters.q) {
    where.push(`"emailSearch" >= ${value(filters.q)}`, `"emailSearch" < ${value(filters.q + PREFIX_END)}`);
    where.push(pg
      ? `left("emailSearch", length(${value(filters.q)})) = ${value(filters.q)}`
      : `substr("emailSearch", 1, length(${value(filters.q)})) = ${value(filters.q)}`);
  }
  if (filters.product) where.push(`"productId" = ${value(filters.product)}`);
  if (filters.from) where.push(`"capturedAt" >= ${time(dbTime(dialect, new Date(`${filters.from}T00:00:00.000Z`)))}`);
  if (filters.to) where.push(`"capturedAt" < ${time(dbTime(dialect, new Date(Date.parse(`${filters.to}T00:00:00.000Z`) + 86_400_000)))}`);
  if (cursor) {
    where.push(
      `"capturedAt" <= ${time(cursor.at)}`,
      `("capturedAt" < ${time(cursor.at)} OR ("capturedAt" = ${time(cursor.at)} AND "id" < ${value(cursor.id)}))`,
    );
  }
  return where.join(" AND ");
}

/** A moment as each database stores it: PostgreSQL timestamp(3) holds UTC; Prisma writes SQLite DateTime as ISO text. */
function dbTime(dialect: Dialect, date: Date): string {
  return dialect === "postgresql" ? date.toISOString().slice(0, 23).replace("T", " ") : date.toISOString().replace("Z", "+00:00");
}

// ---------------------------------------------------------------- PostgreSQL: COPY

/**
 * Which ASCII characters make `csvCell` prefix an apostrophe (read from `csvCell` itself, so the two routes
 * cannot drift apart), and whether `csvCell` otherwise quotes exactly as PostgreSQL's CSV writer does.
 */
const FORMULA_START = new Uint8Array(256);
const COPY_MATCHES_CSV_CELL = (() => {
  const quotedByCopy = new Set([",", '"', "\r", "\n"]);
  let guards = 0;
  for (let code = 0; code < 128; code++) {
    const ch = String.fromCharCode(code);
    if (csvCell(`${ch}a`).replace(/^"/, "").startsWith(`'${ch}`)) {
      FORMULA_START[code] = 1;
      guards++;
    }
    const inner = csvCell(`a${ch}a`);
    if (inner !== (quotedByCopy.has(ch) ? `"a${ch === '"' ? '""' : ch}a"` : `a${ch}a`)) return false;
  }
  return csvCell("") === "" && csvCell(null) === "" && guards > 0;
})();

const COPY_CELLS = SQL_COLUMNS.map((c) => {
  if (c === "capturedAt") return `to_char("capturedAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  if (c === "tagged" || c === "consent") return `CASE WHEN "${c}" THEN 'yes' ELSE 'no' END`;
  return `"${c}"`;
}).join(", ");

/**
 * One batch by COPY. COPY takes no bind parameters, so values go in as literals quoted by node-postgres.
 * PostgreSQL writes each row as one CopyData message, quoted as `csvCell` quotes; `writeCopyRow` adds the
 * rest on the bytes.
 */
async function copyBatch(
  shopId: string, filters: LeadFilters, cursor: BatchCursor | null, limit: number, out: ChunkWriter,
): Promise<{ rows: number; last: BatchCursor | null }> {
  const where = batchConditions("postgresql", shopId, filters, cursor, (v) => pg.escapeLiteral(v));
  const sql = `COPY (SELECT ${COPY_CELLS} FROM "Lead" WHERE ${where} ORDER BY ${ORDER} LIMIT ${Math.max(1, Math.floor(limit))}) TO STDOUT (FORMAT csv)`;
  let rows = 0;
  const key = { bytes: Buffer.alloc(256), length: 0 };
  const client = await exportPool().connect();
  try {
    await new Promise<void>((resolve, reject) => {
      client.query(new CopyOut(sql, (row) => {
        writeCopyRow(row, out, key);
        rows++;
      }, resolve, reject));
    });
    client.release();
  } catch (error) {
    client.release(error instanceof Error ? error : true);
    throw error;
  }
  return { rows, last: rows ? cursorOf(key.bytes.subarray(0, key.length)) : null };
}

/**
 * A COPY row as `csvRow` would write it: an apostrophe before a cell that starts like a formula (inside
 * the quotes when PostgreSQL quoted it), an empty cell for empty text (COPY writes `""` for it, to tell
 * it from NULL), and CRLF for the row's LF. The row's first two cells (id and capture time) are kept in
 * `key` for the next batch's cursor.
 */
function writeCopyRow(row: Buffer, out: ChunkWriter, key: { bytes: Buffer; length: number }) {
  const end = row.length - 1;
  if (row[end] !== 10) throw new Error("Unexpected COPY row");
  // At most one apostrophe per cell (16) and the CR: 17 bytes more than the row.
  out.reserve(row.length + 17);
  let from = 0;
  let pos = 0;
  for (let cell = 0; ; cell++) {
    if (row[pos] === 34) {
      let close = pos + 1;
      for (;;) {
        close = row.indexOf(34, close);
        if (close < 0 || close >= end) throw new Error("Unexpected COPY row");
        if (row[close + 1] !== 34) break;
        close += 2;
      }
      if (close === pos + 1) {
        out.bytes(row, from, pos);
        from = close + 1;
      } else if (FORMULA_START[row[pos + 1]]) {
        out.bytes(row, from, pos + 1);
        out.byte(39);
        from = pos + 1;
      }
      pos = close + 1;
    } else {
      if (FORMULA_START[row[pos]] && pos < end) {
        out.bytes(row, from, pos);
        out.byte(39);
        from = pos;
      }
      const comma = row.indexOf(44, pos);
      pos = comma < 0 || comma > end ? end : comma;
    }
    if (cell === 1) {
      if (key.bytes.length < pos) key.bytes = Buffer.alloc(pos * 2);
      key.length = row.copy(key.bytes, 0, 0, pos);
    }
    if (pos >= end) break;
    pos++;
  }
  out.bytes(row, from, end);
  out.byte(13);
  out.byte(10);
}

/** The cursor from a row's first two cells as COPY wrote them: the id (quoted if need be) and the ISO capture time. */
function cursorOf(cells: Buffer): BatchCursor {
  const text = cells.toString("utf8");
  let id = "";
  let rest: string;
  if (text.startsWith('"')) {
    let from = 1;
    for (;;) {
      const quote = text.indexOf('"', from);
      if (text[quote + 1] === '"') {
        id += text.slice(from, quote + 1);
        from = quote + 2;
        continue;
      }
      id += text.slice(from, quote);
      rest = text.slice(quote + 2);
      break;
    }
  } else {
    const comma = text.indexOf(",");
    id = text.slice(0, comma);
    rest = text.slice(comma + 1);
  }
  return { at: dbTime("postgresql", new Date(rest)), id };
}

/** A COPY … TO STDOUT run on a node-postgres client, handing over each row (one CopyData message) as bytes. */
class CopyOut implements pg.Submittable {
  private failed = false;
  constructor(
    private readonly text: string,
    private readonly onRow: (row: Buffer) => void,
    private readonly resolve: () => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  submit(connection: pg.Connection) {
    connection.query(this.text);
  }

  handleCopyData(message: { chunk: Buffer }) {
    if (this.failed) return;
    try {
      this.onRow(message.chunk);
    } catch (error) {
      this.handleError(error);
    }
  }

  handleError(error: unknown) {
    if (this.failed) return;
    this.failed = true;
    this.reject(error);
  }

  handleReadyForQuery() {
    if (!this.failed) this.resolve();
  }

  handleCommandComplete() {}
  handleRowDescription() {}
  handleDataRow() {}
  handleEmptyQuery() {}
  handlePortalSuspended() {}
  handleCopyInResponse() {
    this.handleError(new Error("Unexpected COPY FROM"));
  }
}

declare global {
  // Connections for CSV exports on PostgreSQL, kept across dev-server module reloads.
  var __tryonExportPool: pg.Pool | undefined;
}

function exportPool(): pg.Pool {
  if (!globalThis.__tryonExportPool) {
    const pool = new pg.Pool({ connectionString: getConfig().DATABASE_URL, max: 4, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
    // An idle connection that the server closed is simply dropped; the next export opens a new one.
    pool.on("error", () => undefined);
    globalThis.__tryonExportPool = pool;
  }
  return globalThis.__tryonExportPool;
}

// ---------------------------------------------------------------- SQLite (and fallback): one JSON text per batch

/** One lead in EXPORT_COLUMNS order: strings, or null for an empty optional field. */
type ExportCells = (string | null)[];

async function jsonBatch(
  db: Db, dialect: Dialect, shopId: string, filters: LeadFilters, cursor: BatchCursor | null, limit: number, out: ChunkWriter,
): Promise<{ rows: number; last: BatchCursor | null }> {
  const params: string[] = [];
  const where = batchConditions(dialect, shopId, filters, cursor, (v) => {
    params.push(v);
    return dialect === "postgresql" ? `$${params.length}` : "?";
  });
  const pg = dialect === "postgresql";
  const cells = SQL_COLUMNS.map((c) => {
    if (c === "capturedAt") return pg ? `to_char("capturedAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')` : `strftime('%Y-%m-%dT%H:%M:%fZ', "capturedAt")`;
    if (c === "tagged" || c === "consent") return `CASE WHEN "${c}" THEN 'yes' ELSE 'no' END`;
    return `"${c}"`;
  }).join(", ");
  const page = `SELECT ${SQL_COLUMNS.map((c) => `"${c}"`).join(", ")} FROM "Lead" WHERE ${where} ORDER BY ${ORDER} LIMIT ${Math.max(1, Math.floor(limit))}`;
  const sql = pg
    ? `SELECT '[' || string_agg(array_to_json(ARRAY[${cells}])::text, ',' ORDER BY ${ORDER}) || ']' AS "rows" FROM (${page}) AS "page"`
    : `SELECT '[' || group_concat(json_array(${cells}), ',' ORDER BY ${ORDER}) || ']' AS "rows" FROM (${page}) AS "page"`;
  const [result] = await db.$queryRawUnsafe<{ rows: string | null }[]>(sql, ...params);
  const rows = result?.rows ? (JSON.parse(result.rows) as ExportCells[]) : [];
  for (const cells of rows) out.text(csvRow(cells));
  const last = rows[rows.length - 1];
  return { rows: rows.length, last: last ? { at: dbTime(dialect, new Date(last[1]!)), id: last[0]! } : null };
}
