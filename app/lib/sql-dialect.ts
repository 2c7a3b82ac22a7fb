import type { Db } from "./db.server";

/** Which database a client talks to, for the few statements written in SQL by hand. */
export type SqlDialect = "postgresql" | "sqlite";

export function sqlDialectOf(db: Db): SqlDialect {
  const provider = (db as unknown as { _activeProvider?: string })._activeProvider;
  return provider === "postgresql" || provider === "postgres" ? "postgresql" : "sqlite";
}

/**
 * A moment as a bound parameter each database compares correctly with its DateTime columns: PostgreSQL
 * timestamp(3) holds UTC (the parameter is cast with `::timestamp(3)`); Prisma writes SQLite DateTime as
 * ISO text with an explicit offset, which sorts as text.
 */
export function sqlTime(dialect: SqlDialect, date: Date): string {
  return dialect === "postgresql" ? date.toISOString().slice(0, 23).replace("T", " ") : date.toISOString().replace("Z", "+00:00");
}

/**
 * The UTC day of a DateTime column: `dayGroup` to GROUP BY (PostgreSQL truncates, far cheaper per row than
 * formatting), `dayText` the same day as `YYYY-MM-DD` text to SELECT alongside it.
 */
export function sqlDayGroup(dialect: SqlDialect, column: string): string {
  return dialect === "postgresql" ? `date_trunc('day', ${column})` : `substr(${column}, 1, 10)`;
}

export function sqlDay(dialect: SqlDialect, column: string): string {
  return dialect === "postgresql" ? `to_char(date_trunc('day', ${column}), 'YYYY-MM-DD')` : `substr(${column}, 1, 10)`;
}

/** Milliseconds from one DateTime column to another, as a number. */
export function sqlMillisBetween(dialect: SqlDialect, from: string, to: string): string {
  return dialect === "postgresql"
    ? `(EXTRACT(EPOCH FROM (${to} - ${from})) * 1000)`
    : `((julianday(${to}) - julianday(${from})) * 86400000.0)`;
}

/** Positional placeholders: `$1, $2…` on PostgreSQL, `?` on SQLite. */
export function sqlParams(dialect: SqlDialect) {
  const values: unknown[] = [];
  return {
    values,
    add(value: unknown, cast?: "time"): string {
      values.push(value);
      if (dialect === "sqlite") return "?";
      return cast === "time" ? `$${values.length}::timestamp(3)` : `$${values.length}`;
    },
  };
}

/**
 * The p-th percentile (0..1) of a sample, interpolated between the two nearest ranks as PostgreSQL's
 * percentile_cont does; null for an empty sample. Sorts `values` in place.
 */
export function percentileCont(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  values.sort((a, b) => a - b);
  const rank = p * (values.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return values[lo] + (values[hi] - values[lo]) * (rank - lo);
}
