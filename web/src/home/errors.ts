// The home page's queries: errors over time, and records over time of the busiest streams.
import { quoteIdent, quoteString } from "../query";

/** The level values counted as errors (as written by the common loggers). */
export const ERROR_LEVELS = ["error", "ERROR", "Error", "err", "ERR", "fatal", "FATAL", "Fatal", "crit", "CRIT", "critical", "CRITICAL", "panic", "PANIC"];

/** Errors per interval of one stream: `histogram(_timestamp)` of the records whose level is an error. */
export function errorsSql(stream: string, levelField: string): string {
  return (
    `SELECT histogram(_timestamp) AS t, count(*) AS n FROM ${quoteIdent(stream)} ` +
    `WHERE ${quoteIdent(levelField)} IN (${ERROR_LEVELS.map(quoteString).join(", ")}) GROUP BY t ORDER BY t`
  );
}

/** Records per interval of one stream. */
export const volumeSql = (stream: string): string => `SELECT histogram(_timestamp) AS t, count(*) AS n FROM ${quoteIdent(stream)} GROUP BY t ORDER BY t`;

/** The `n` streams with the most records (ties by name). */
export function busiest<T extends { name: string; stats: { doc_num: number } }>(streams: T[], n = 5): T[] {
  return [...streams].sort((a, b) => b.stats.doc_num - a.stats.doc_num || a.name.localeCompare(b.name)).slice(0, n);
}
