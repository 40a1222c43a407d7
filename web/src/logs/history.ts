// Per-user memory of the logs page in localStorage: the query history (the last 50 distinct
// queries with their stream and time range) and the last stream looked at, keyed by organisation
// and the signed-in user's e-mail.
import type { StreamInfo } from "../api";
import type { Mode } from "../state";

export const HISTORY_SIZE = 50;

export interface HistoryEntry {
  stream: string;
  mode: Mode;
  query: string;
  from: string;
  to: string;
  at: number; // ms since the epoch, when it last ran
}

type Store = Pick<Storage, "getItem" | "setItem">;

const historyKey = (org: string, user: string) => `kansoku:history:${org}:${user}`;
const streamKey = (org: string, user: string) => `kansoku:last-stream:${org}:${user}`;

const sameQuery = (a: HistoryEntry, b: HistoryEntry) => a.stream === b.stream && a.mode === b.mode && a.query.trim() === b.query.trim();

/** `list` with `entry` first and an earlier run of the same query (stream, mode, text) removed. */
export function addToHistory(list: HistoryEntry[], entry: HistoryEntry, max = HISTORY_SIZE): HistoryEntry[] {
  return [entry, ...list.filter((e) => !sameQuery(e, entry))].slice(0, max);
}

function isEntry(value: unknown): value is HistoryEntry {
  if (!value || typeof value !== "object") return false;
  const e = value as Record<string, unknown>;
  return typeof e.stream === "string" && (e.mode === "filter" || e.mode === "sql") && typeof e.query === "string" && typeof e.from === "string" && typeof e.to === "string";
}

export function loadHistory(store: Store, org: string, user: string): HistoryEntry[] {
  try {
    const parsed = JSON.parse(store.getItem(historyKey(org, user)) ?? "[]");
    return Array.isArray(parsed) ? parsed.filter(isEntry).slice(0, HISTORY_SIZE) : [];
  } catch {
    return [];
  }
}

/** Records a run; returns the new history. Storage errors (quota, private mode) are ignored. */
export function recordQuery(store: Store, org: string, user: string, entry: HistoryEntry): HistoryEntry[] {
  const next = addToHistory(loadHistory(store, org, user), entry);
  try {
    store.setItem(historyKey(org, user), JSON.stringify(next));
  } catch {
    // not remembered
  }
  return next;
}

export function clearHistory(store: Store, org: string, user: string) {
  try {
    store.setItem(historyKey(org, user), "[]");
  } catch {
    // nothing to clear
  }
}

export function rememberStream(store: Store, org: string, user: string, stream: string) {
  try {
    store.setItem(streamKey(org, user), stream);
  } catch {
    // not remembered
  }
}

export function recallStream(store: Store, org: string, user: string): string | undefined {
  try {
    return store.getItem(streamKey(org, user)) ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * The stream the logs page opens on when the URL names none: the one this user looked at last
 * (when it still exists), else the one with the most recent data, else the first by name.
 */
export function landingStream(streams: Pick<StreamInfo, "name" | "stats">[], remembered?: string): string | undefined {
  if (remembered && streams.some((s) => s.name === remembered)) return remembered;
  const sorted = [...streams].sort((a, b) => (b.stats?.doc_time_max ?? 0) - (a.stats?.doc_time_max ?? 0) || a.name.localeCompare(b.name));
  return sorted[0]?.name;
}
