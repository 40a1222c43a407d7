// The trace explorer: search traces by service, operation, duration, status, attributes and time;
// a services summary; results with duration bars and error badges. A trace opens in its
// waterfall ([`TraceView`]). State lives in the URL.
import { useCallback, useEffect, useState } from "react";
import * as api from "../api";
import { TimeRangePicker } from "../components/TimeRangePicker";
import { plural } from "../format";
import { navigate } from "../router";
import { formatTime, resolveRange, type TimeRange } from "../time";
import { TraceView } from "./TraceView";
import * as tracesApi from "./tracesApi";
import { formatDuration } from "./waterfall";

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function TracesPage({ org, search }: { org: string; search: string }) {
  const params = new URLSearchParams(search);
  const stream = params.get("stream") ?? "default";
  const traceId = params.get("trace");
  const range: TimeRange = { from: params.get("from") ?? "now-1h", to: params.get("to") ?? "now" };
  const filters: tracesApi.TraceFilters = {
    service: params.get("service") ?? "",
    operation: params.get("operation") ?? "",
    status: params.get("status") ?? "",
    minMs: params.get("min") ?? "",
    maxMs: params.get("max") ?? "",
    filter: params.get("filter") ?? "",
  };
  const go = (change: Record<string, string | null>, replace = false) => {
    const next = new URLSearchParams(search);
    next.set("org", org);
    for (const [key, value] of Object.entries(change)) {
      if (value === null || value === "") next.delete(key);
      else next.set(key, value);
    }
    navigate(`/traces?${next.toString()}`, replace);
  };
  if (traceId) return <TraceView org={org} stream={stream} traceId={traceId} onBack={() => go({ trace: null })} />;
  return <TraceSearch org={org} stream={stream} range={range} filters={filters} go={go} />;
}

function TraceSearch({
  org,
  stream,
  range,
  filters,
  go,
}: {
  org: string;
  stream: string;
  range: TimeRange;
  filters: tracesApi.TraceFilters;
  go: (change: Record<string, string | null>, replace?: boolean) => void;
}) {
  const [streams, setStreams] = useState<string[]>([]);
  const [draft, setDraft] = useState(filters);
  const [hits, setHits] = useState<tracesApi.TraceHit[] | null>(null);
  const [summary, setSummary] = useState<tracesApi.ServiceSummary[]>([]);
  const [error, setError] = useState("");
  const [loading, setLoading] = useState(false);
  // The field names of the stream they were read for: a search waits for the current stream's.
  const [schema, setSchema] = useState<{ stream: string; names: string[] } | null>(null);
  const fieldNames = schema?.stream === stream ? schema.names : null;
  const filtersKey = JSON.stringify(filters);

  useEffect(() => {
    let current = true;
    api.listStreamsWithSchema(org, "traces").then(
      (list) => {
        if (!current) return;
        setStreams(list.map((s) => s.name).sort());
        setSchema({ stream, names: list.find((s) => s.name === stream)?.schema?.map((f) => f.name) ?? [] });
      },
      () => current && setSchema({ stream, names: [] }),
    );
    return () => {
      current = false;
    };
  }, [org, stream]);
  useEffect(() => setDraft(filters), [filtersKey]); // eslint-disable-line react-hooks/exhaustive-deps

  const load = useCallback(() => {
    const window = resolveRange(range);
    if (!window) {
      setError("invalid time range");
      return;
    }
    setLoading(true);
    setError("");
    const controller = new AbortController();
    tracesApi
      .searchTraces(
        org,
        stream,
        tracesApi.searchParams({ ...filters, filter: tracesApi.normaliseAttributeFilter(filters.filter, fieldNames ?? []) }, window[0], window[1]),
        controller.signal,
      )
      .then(
        (r) => !controller.signal.aborted && setHits(r.hits),
        (e) => !controller.signal.aborted && setError(errorText(e)),
      )
      .finally(() => !controller.signal.aborted && setLoading(false));
    tracesApi.services(org, stream, window[0], window[1], controller.signal).then(
      (list) => !controller.signal.aborted && setSummary(list),
      () => !controller.signal.aborted && setSummary([]),
    );
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [org, stream, range.from, range.to, filtersKey, fieldNames]);
  // Once the stream's field names are known (attribute filters are resolved against them).
  useEffect(() => (fieldNames === null ? undefined : load()), [load, fieldNames]);

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    go({ service: draft.service, operation: draft.operation, status: draft.status, min: draft.minMs, max: draft.maxMs, filter: draft.filter });
  };
  const longest = Math.max(1, ...(hits ?? []).map((h) => h.duration));

  return (
    <div className="traces-page">
      <form className="toolbar trace-filters" onSubmit={submit} aria-label="Trace search">
        <label>
          Stream{" "}
          <select aria-label="Traces stream" value={stream} onChange={(e) => go({ stream: e.target.value })}>
            {(streams.includes(stream) ? streams : [stream, ...streams]).map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <TimeRangePicker range={range} onChange={(next) => go({ from: next.from, to: next.to })} />
        <input aria-label="Service" list="trace-services" placeholder="service" value={draft.service} onChange={(e) => setDraft({ ...draft, service: e.target.value })} />
        <datalist id="trace-services">
          {summary.map((s) => (
            <option key={s.service_name} value={s.service_name} />
          ))}
        </datalist>
        <input aria-label="Operation" placeholder="operation" value={draft.operation} onChange={(e) => setDraft({ ...draft, operation: e.target.value })} />
        <select aria-label="Status" value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.target.value })}>
          <option value="">any status</option>
          <option value="error">errors</option>
          <option value="ok">ok</option>
          <option value="unset">unset</option>
        </select>
        <input aria-label="Minimum duration (ms)" className="short" placeholder="min ms" value={draft.minMs} onChange={(e) => setDraft({ ...draft, minMs: e.target.value })} />
        <input aria-label="Maximum duration (ms)" className="short" placeholder="max ms" value={draft.maxMs} onChange={(e) => setDraft({ ...draft, maxMs: e.target.value })} />
        <input aria-label="Attributes" placeholder="http.method=POST, k8s.pod.name:api-1" value={draft.filter} onChange={(e) => setDraft({ ...draft, filter: e.target.value })} />
        <button type="submit" className="primary">
          Search
        </button>
      </form>
      {error && <p className="error query-error">{error}</p>}
      <div className="traces-body">
        <section className="services-summary" aria-label="Services">
          <h4>Services</h4>
          <table className="data-table">
            <thead>
              <tr>
                <th>Service</th>
                <th className="num">Requests</th>
                <th className="num">Spans</th>
                <th className="num">Errors</th>
                <th className="num">p50</th>
                <th className="num">p95</th>
                <th className="num">p99</th>
              </tr>
            </thead>
            <tbody>
              {summary.map((s) => (
                <tr key={s.service_name}>
                  <td>
                    <button type="button" className="link-button" onClick={() => go({ service: s.service_name })}>
                      {s.service_name}
                    </button>
                  </td>
                  <td className="num">{s.requests}</td>
                  <td className="num">{s.spans}</td>
                  <td className="num">
                    {s.errors > 0 ? <span className="badge bad">{s.errors}</span> : 0}
                  </td>
                  <td className="num">{formatDuration(s.p50)}</td>
                  <td className="num">{formatDuration(s.p95)}</td>
                  <td className="num">{formatDuration(s.p99)}</td>
                </tr>
              ))}
              {summary.length === 0 && (
                <tr>
                  <td colSpan={7} className="muted">
                    No spans in this time range.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </section>
        <section className="trace-results" aria-label="Traces">
          <h4>
            {loading ? "Searching…" : plural(hits?.length ?? 0, "trace")}
          </h4>
          {(hits ?? []).map((hit) => (
            <button
              type="button"
              key={hit.trace_id}
              className="trace-row"
              data-trace={hit.trace_id}
              onClick={() => go({ trace: hit.trace_id })}
            >
              <span className="trace-title">
                <strong>{hit.service_name}</strong>: {hit.operation_name}
                {hit.errors > 0 && <span className="badge bad">{hit.errors} error{hit.errors === 1 ? "" : "s"}</span>}
              </span>
              <span className="trace-meta small muted">
                {formatTime(hit.start_time)} · {hit.spans} span{hit.spans === 1 ? "" : "s"} · {hit.services.split(",").length} service
                {hit.services.split(",").length === 1 ? "" : "s"} · {hit.trace_id.slice(0, 12)}…
              </span>
              <span className="duration-track">
                <span className={`duration-bar${hit.errors > 0 ? " bad" : ""}`} style={{ width: `${Math.max(1, (hit.duration / longest) * 100)}%` }} />
                <span className="duration-text">{formatDuration(hit.duration)}</span>
              </span>
            </button>
          ))}
          {hits && hits.length === 0 && !loading && <p className="muted">No traces match.</p>}
        </section>
      </div>
    </div>
  );
}
