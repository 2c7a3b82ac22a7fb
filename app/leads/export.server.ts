import type { Db } from "../lib/db.server";
import { csvRow } from "./csv";
import type { LeadFilters } from "./filters";
import type { LeadCursor } from "./leads.server";

export const EXPORT_COLUMNS = [
  "lead_id", "captured_at", "email", "product_id", "product_title", "product_url", "variant_id", "variant_title",
  "tagged_in_shopify", "consent", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "page_url",
] as const;

/** Rows fetched per query while streaming: big enough to amortise a round trip, small enough to keep memory flat. */
export const EXPORT_BATCH_SIZE = 2000;

/**
 * Every lead of a shop (or the filtered set) as CSV, newest first, streamed batch by batch with a keyset,
 * so memory holds at most two batches whatever the row count. Starts with a UTF-8 byte order mark so
 * Excel reads accented names correctly.
 *
 * Each batch is one SQL query whose single result is the batch's rows as a JSON array of string arrays,
 * already in export column order (the database formats the timestamp and the yes/no flags). Parsing one
 * JSON text is far cheaper per row than materialising Prisma records, and the next batch is fetched while
 * the current one is formatted, so the database and this process work side by side. CSV quoting and
 * formula neutralising stay in `csvCell`, exactly as for every other CSV the app writes.
 *
 * Pass the request's `signal` to stop querying as soon as the client goes away: the stream then errors
 * instead of reading the rest of the table for nobody.
 */
export function exportLeadsCsv({ db, shopId, filters, batchSize = EXPORT_BATCH_SIZE, signal }: {
  db: Db; shopId: string; filters: LeadFilters; batchSize?: number; signal?: AbortSignal;
}): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const dialect = dialectOf(db);
  let pending: Promise<ExportCells[]> | null = null;
  let started = false;

  const fetchBatch = (cursor: LeadCursor | null) => {
    const { sql, params } = exportBatchQuery(dialect, shopId, filters, cursor, batchSize);
    // Each query starts from a fresh event-loop turn. SQLite runs in this thread and answers at once, so
    // without this turn the whole export would run as one chain of promise callbacks, the socket would
    // never get to send, and the entire file would pile up in memory first.
    const batch = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => db.$queryRawUnsafe<{ rows: string | null }[]>(sql, ...params))
      .then(([result]) => parseRows(result?.rows ?? null));
    // Awaited by the next pull; never an unhandled rejection if the download is abandoned first.
    batch.catch(() => undefined);
    return batch;
  };

  return new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      if (!started) {
        started = true;
        pending = fetchBatch(null);
        controller.enqueue(encoder.encode("\ufeff" + csvRow(EXPORT_COLUMNS)));
        return;
      }
      if (!pending) return;
      if (signal?.aborted) {
        pending = null;
        controller.error(signal.reason ?? new Error("Export aborted"));
        return;
      }
      const batch = await pending;
      const last = batch[batch.length - 1];
      pending = batch.length === batchSize && last ? fetchBatch({ capturedAt: new Date(last[1]!), id: last[0]! }) : null;
      // Rows are written straight into byte chunks: no batch-sized string is ever built, which keeps the
      // garbage per batch small and the process's memory flat.
      let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
      let used = 0;
      for (const cells of batch) {
        const line = csvRow(cells);
        if (chunk.length - used < line.length * 3) {
          if (used) controller.enqueue(chunk.subarray(0, used));
          chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, line.length * 3));
          used = 0;
        }
        used += chunk.write(line, used, "utf8");
      }
      if (used) controller.enqueue(chunk.subarray(0, used));
      if (!pending) controller.close();
    },
    cancel: () => {
      pending = null;
    },
  });
}

/** Bytes per enqueued chunk (a UTF-8 character takes at most 3 bytes per UTF-16 unit). */
const CHUNK_BYTES = 256 * 1024;

/** One lead in EXPORT_COLUMNS order: strings, or null for an empty optional field. */
type ExportCells = (string | null)[];

type Dialect = "postgresql" | "sqlite";

function dialectOf(db: Db): Dialect {
  const provider = (db as unknown as { _activeProvider?: string })._activeProvider;
  return provider === "postgresql" || provider === "postgres" ? "postgresql" : "sqlite";
}

/** The batch arrives as one JSON array of the rows' arrays (null when there are none). */
function parseRows(json: string | null): ExportCells[] {
  return json ? (JSON.parse(json) as ExportCells[]) : [];
}

/** Upper bound for an email prefix range, as in `leadsWhere`. */
const PREFIX_END = "\uffff";

/**
 * The batch query: the shop's leads under the filters (the same conditions as `leadsWhere`), strictly
 * after the cursor in (capturedAt desc, id desc) order (the same shape as `cursorWhere`, so the index
 * range starts at the cursor), as one JSON text: an array of the rows' arrays of cells.
 */
export function exportBatchQuery(
  dialect: Dialect, shopId: string, filters: LeadFilters, cursor: LeadCursor | null, limit: number,
): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const pg = dialect === "postgresql";
  const param = (value: unknown) => {
    params.push(value);
    return pg ? `$${params.length}` : "?";
  };
  // Timestamps as each database stores them: PostgreSQL timestamp(3) holds UTC; Prisma writes SQLite DateTime as ISO text.
  const time = (date: Date) =>
    pg ? `${param(date.toISOString().slice(0, 23).replace("T", " "))}::timestamp(3)` : param(date.toISOString().replace("Z", "+00:00"));

  const where = [`"shopId" = ${param(shopId)}`];
  if (filters.q) {
    where.push(`"emailSearch" >= ${param(filters.q)}`, `"emailSearch" < ${param(filters.q + PREFIX_END)}`);
    where.push(pg
      ? `left("emailSearch", length(${param(filters.q)})) = ${param(filters.q)}`
      : `substr("emailSearch", 1, length(${param(filters.q)})) = ${param(filters.q)}`);
  }
  if (filters.product) where.push(`"productId" = ${param(filters.product)}`);
  if (filters.from) where.push(`"capturedAt" >= ${time(new Date(`${filters.from}T00:00:00.000Z`))}`);
  if (filters.to) where.push(`"capturedAt" < ${time(new Date(Date.parse(`${filters.to}T00:00:00.000Z`) + 86_400_000))}`);
  if (cursor) {
    where.push(
      `"capturedAt" <= ${time(cursor.capturedAt)}`,
      `("capturedAt" < ${time(cursor.capturedAt)} OR ("capturedAt" = ${time(cursor.capturedAt)} AND "id" < ${param(cursor.id)}))`,
    );
  }
  const cells = [
    `"id"`,
    pg ? `to_char("capturedAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')` : `strftime('%Y-%m-%dT%H:%M:%fZ', "capturedAt")`,
    `"email"`, `"productId"`, `"productTitle"`, `"productUrl"`, `"variantId"`, `"variantTitle"`,
    `CASE WHEN "tagged" THEN 'yes' ELSE 'no' END`, `CASE WHEN "consent" THEN 'yes' ELSE 'no' END`,
    `"utmSource"`, `"utmMedium"`, `"utmCampaign"`, `"utmTerm"`, `"utmContent"`, `"pageUrl"`,
  ].join(", ");
  const order = `"capturedAt" DESC, "id" DESC`;
  const columns = [
    "id", "capturedAt", "email", "productId", "productTitle", "productUrl", "variantId", "variantTitle", "tagged", "consent",
    "utmSource", "utmMedium", "utmCampaign", "utmTerm", "utmContent", "pageUrl",
  ].map((c) => `"${c}"`).join(", ");
  const page = `SELECT ${columns} FROM "Lead" WHERE ${where.join(" AND ")} ORDER BY ${order} LIMIT ${Math.max(1, Math.floor(limit))}`;
  const sql = pg
    ? `SELECT '[' || string_agg(array_to_json(ARRAY[${cells}])::text, ',' ORDER BY ${order}) || ']' AS "rows" FROM (${page}) AS "page"`
    : `SELECT '[' || group_concat(json_array(${cells}), ',' ORDER BY ${order}) || ']' AS "rows" FROM (${page}) AS "page"`;
  return { sql, params };
}
