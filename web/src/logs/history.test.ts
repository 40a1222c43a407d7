import { describe, expect, it } from "vitest";
import type { StreamStats } from "../api";
import { addToHistory, clearHistory, HISTORY_SIZE, landingStream, loadHistory, recallStream, recordQuery, rememberStream, type HistoryEntry } from "./history";

function memoryStore() {
  const data = new Map<string, string>();
  return { getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v), data };
}

const entry = (query: string, stream = "app", at = 0): HistoryEntry => ({ stream, mode: "filter", query, from: "now-15m", to: "now", at });

describe("query history", () => {
  it("keeps the last 50 distinct queries, newest first", () => {
    let list: HistoryEntry[] = [];
    for (let i = 0; i < 60; i++) list = addToHistory(list, entry(`q${i}`));
    expect(list).toHaveLength(HISTORY_SIZE);
    expect(list[0].query).toBe("q59");
    list = addToHistory(list, entry("q30", "app", 99));
    expect(list).toHaveLength(HISTORY_SIZE);
    expect(list[0]).toMatchObject({ query: "q30", at: 99 });
    expect(list.filter((e) => e.query === "q30")).toHaveLength(1);
    // The same text on another stream is another query.
    expect(addToHistory(list, entry("q30", "other"))[1].query).toBe("q30");
  });
  it("is per organisation and user, and survives junk", () => {
    const store = memoryStore();
    recordQuery(store, "default", "a@x", entry("level=error"));
    recordQuery(store, "default", "b@x", entry("other"));
    expect(loadHistory(store, "default", "a@x").map((e) => e.query)).toEqual(["level=error"]);
    expect(loadHistory(store, "team", "a@x")).toEqual([]);
    store.setItem("kansoku:history:default:c@x", "{not json");
    expect(loadHistory(store, "default", "c@x")).toEqual([]);
    store.setItem("kansoku:history:default:c@x", JSON.stringify([{ query: 1 }, entry("ok")]));
    expect(loadHistory(store, "default", "c@x").map((e) => e.query)).toEqual(["ok"]);
    clearHistory(store, "default", "a@x");
    expect(loadHistory(store, "default", "a@x")).toEqual([]);
  });
});

describe("landing stream", () => {
  const stats = (max: number) => ({ doc_time_max: max }) as StreamStats;
  const streams = [
    { name: "alpha", stats: stats(100) },
    { name: "busy", stats: stats(900) },
    { name: "zeta", stats: stats(500) },
  ];
  it("prefers the last stream looked at, else the most recent data", () => {
    expect(landingStream(streams, "zeta")).toBe("zeta");
    expect(landingStream(streams, "deleted")).toBe("busy");
    expect(landingStream(streams)).toBe("busy");
    expect(landingStream([{ name: "b", stats: stats(0) }, { name: "a", stats: stats(0) }])).toBe("a");
    expect(landingStream([])).toBeUndefined();
  });
  it("remembers per organisation and user", () => {
    const store = memoryStore();
    rememberStream(store, "default", "a@x", "zeta");
    expect(recallStream(store, "default", "a@x")).toBe("zeta");
    expect(recallStream(store, "default", "b@x")).toBeUndefined();
  });
});

describe("saved view data", async () => {
  const { stateOfView, viewData } = await import("./savedViews");
  const { DEFAULT_STATE } = await import("../state");
  it("round-trips the view's parts of the state", () => {
    const state = { ...DEFAULT_STATE, stream: "app", query: "level=error", from: "now-1h", columns: ["level"], widths: { level: 90 }, viz: "terms:level", record: "1", refresh: "5s" };
    const data = viewData(state);
    expect(data).toEqual({ kansoku_view: 1, stream: "app", mode: "filter", query: "level=error", from: "now-1h", to: "now", columns: ["level"], widths: { level: 90 }, viz: "terms:level" });
    expect(stateOfView(JSON.parse(JSON.stringify(data)))).toEqual({ ...DEFAULT_STATE, stream: "app", query: "level=error", from: "now-1h", columns: ["level"], widths: { level: 90 }, viz: "terms:level" });
    expect(stateOfView(null)).toBeUndefined();
    expect(stateOfView({ query: "x" })).toBeUndefined();
    expect(stateOfView({ stream: "s", columns: [1, "a"], mode: "evil" })).toMatchObject({ columns: ["a"], mode: "filter" });
  });
});
