// Import and export of dashboard files: o2 v8 documents (a file may hold a JSON array of them)
// and Grafana dashboards, recognised the way the server recognises them.
import type { Dashboard } from "./types";

type Json = Record<string, unknown>;

/** Whether a value is a Grafana dashboard rather than an o2 one (as the server decides:
 * classic JSON, a Grafana 12 resource, or the HTTP API's `{dashboard, meta}`). */
export function isGrafana(value: unknown): boolean {
  if (!value || typeof value !== "object" || Array.isArray(value)) return false;
  const v = value as Json;
  if ("tabs" in v) return false;
  if ("schemaVersion" in v || "panels" in v || "rows" in v || "templating" in v) return true;
  if (typeof v.apiVersion === "string" && v.apiVersion.startsWith("dashboard.grafana.app/")) return true;
  const inner = v.dashboard as Json | undefined;
  return !!inner && typeof inner === "object" && ("panels" in inner || "meta" in v);
}

export interface Candidate {
  source: string; // file name, or "pasted JSON"
  title: string;
  kind: "v8" | "grafana";
  document: unknown;
}

/** The dashboards in a JSON text (an object, or an array of them). */
export function candidates(text: string, source: string): Candidate[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  return list.map((item, index) => {
    if (!item || typeof item !== "object" || Array.isArray(item)) throw new Error(`${source}: item ${index + 1} is not a dashboard object`);
    const grafana = isGrafana(item);
    const v = item as Json;
    const inner = (v.dashboard ?? v.spec ?? v) as Json;
    const title = String((grafana ? inner.title : v.title) ?? "") || "(untitled)";
    return { source: list.length > 1 ? `${source} #${index + 1}` : source, title, kind: grafana ? "grafana" : "v8", document: item };
  });
}

/** The file an export downloads: the document with its owner blanked, as o2 exports it. */
export function exportFile(dashboard: Dashboard): { name: string; text: string } {
  const name = `${(dashboard.title || "dashboard").replace(/[\\/:*?"<>|]+/g, "_")}.dashboard.json`;
  return { name, text: `${JSON.stringify({ ...dashboard, owner: "" }, null, 2)}\n` };
}

/** Downloads a text file. */
export function download(name: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
