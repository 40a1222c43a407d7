// One trace: a waterfall of its spans (tree order, bars on the trace's time line, the critical
// path highlighted, errors in red), the selected span's details (attributes, events, links,
// resource), and "Logs of this trace", which opens the logs page filtered by trace_id.
import { useEffect, useMemo, useState } from "react";
import * as api from "../api";
import { navigate } from "../router";
import { formatTime } from "../time";
import * as tracesApi from "./tracesApi";
import { formatDuration, layout, SPAN_COLUMNS, type SpanRow } from "./waterfall";

const PALETTE = ["#3b6fd4", "#2e9d6b", "#c77c1e", "#8a4fc7", "#c2417a", "#1f8a9c", "#6b7a2e", "#9c5a3b"];

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? "" : "s"}`;

function colourOf(service: string, services: string[]): string {
  return PALETTE[Math.max(0, services.indexOf(service)) % PALETTE.length];
}

function parseJsonList(text: unknown): Record<string, unknown>[] {
  if (typeof text !== "string" || !text) return [];
  try {
    const value = JSON.parse(text);
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}

export function logsUrl(org: string, logsStream: string, traceId: string, startMicros: number, endMicros: number): string {
  const params = new URLSearchParams({ org });
  if (logsStream) params.set("stream", logsStream);
  params.set("q", `trace_id=${traceId}`);
  // A margin around the trace: logs are often written just before or after its spans.
  params.set("from", String(Math.floor(startMicros - 5 * 60_000_000)));
  params.set("to", String(Math.ceil(endMicros + 5 * 60_000_000)));
  return `/logs?${params.toString()}`;
}

export function TraceView({ org, stream, traceId, onBack }: { org: string; stream: string; traceId: string; onBack: () => void }) {
  const [spans, setSpans] = useState<SpanRow[] | null>(null);
  const [error, setError] = useState("");
  const [selected, setSelected] = useState<string | null>(null);
  const [logStreams, setLogStreams] = useState<string[]>([]);
  const [logStream, setLogStream] = useState("");

  useEffect(() => {
    setSpans(null);
    setError("");
    tracesApi.getTrace(org, stream, traceId).then(
      (r) => setSpans(r.spans),
      (e) => setError(e instanceof Error ? e.message : String(e)),
    );
  }, [org, stream, traceId]);
  useEffect(() => {
    api.listStreamsWithSchema(org, "logs").then((list) => {
      setLogStreams(list.map((s) => s.name).sort());
      setLogStream((current) => current || tracesApi.defaultLogStream(list, stream));
    }, () => undefined);
  }, [org, stream]);

  const laidOut = useMemo(() => layout(spans ?? []), [spans]);
  const services = useMemo(() => [...new Set((spans ?? []).map((s) => s.service_name))].sort(), [spans]);
  if (error) {
    return (
      <div className="trace-view">
        <button type="button" onClick={onBack}>
          ← Back to traces
        </button>
        <p className="error">{error}</p>
      </div>
    );
  }
  if (!spans) return <p className="muted">Loading trace…</p>;
  const totalMicros = (laidOut.end - laidOut.start) / 1000;
  const root = laidOut.rows[0]?.span;
  const errors = spans.filter((s) => s.span_status === "ERROR").length;
  const chosen = spans.find((s) => s.span_id === selected) ?? null;
  const startMicros = laidOut.start / 1000;

  return (
    <div className="trace-view">
      <div className="toolbar">
        <button type="button" onClick={onBack}>
          ← Back to traces
        </button>
        <strong>
          {root?.service_name}: {root?.operation_name}
        </strong>
        <span className="muted small">
          {formatTime(startMicros)} · {formatDuration(totalMicros)} · {plural(spans.length, "span")} · {plural(services.length, "service")}
          {errors > 0 && ` · ${plural(errors, "error")}`} · {traceId}
        </span>
        <span className="spacer" />
        <label>
          Logs stream{" "}
          <select aria-label="Logs stream" value={logStream} onChange={(e) => setLogStream(e.target.value)}>
            {logStreams.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <a
          className="button-link"
          href={logsUrl(org, logStream, traceId, startMicros, laidOut.end / 1000)}
          onClick={(e) => {
            e.preventDefault();
            navigate(logsUrl(org, logStream, traceId, startMicros, laidOut.end / 1000));
          }}
        >
          Logs of this trace
        </a>
      </div>
      <div className="trace-body">
        <div className="waterfall" role="tree" aria-label="Waterfall">
          <div className="waterfall-head">
            <span className="waterfall-label">Service: operation</span>
            <span className="waterfall-axis">
              {[0, 0.25, 0.5, 0.75, 1].map((f) => (
                <span key={f} className="tick" style={{ left: `${f * 100}%` }}>
                  {formatDuration(totalMicros * f)}
                </span>
              ))}
            </span>
          </div>
          {laidOut.rows.map((row) => {
            const failed = row.span.span_status === "ERROR";
            return (
              <div
                key={row.span.span_id}
                role="treeitem"
                aria-level={row.depth + 1}
                aria-selected={selected === row.span.span_id}
                data-span={row.span.operation_name}
                data-critical={row.critical ? "true" : "false"}
                className={`span-row${row.critical ? " critical" : ""}${failed ? " failed" : ""}${selected === row.span.span_id ? " selected" : ""}`}
                onClick={() => setSelected(row.span.span_id === selected ? null : row.span.span_id)}
              >
                <span className="waterfall-label" style={{ paddingLeft: `${6 + row.depth * 14}px` }}>
                  <span className="service-dot" style={{ background: colourOf(row.span.service_name, services) }} />
                  <span className="span-service">{row.span.service_name}</span> {row.span.operation_name}
                  {failed && <span className="badge bad">error</span>}
                </span>
                <span className="waterfall-axis">
                  <span
                    className="span-bar"
                    style={{
                      left: `${row.offset * 100}%`,
                      width: `max(2px, ${row.width * 100}%)`,
                      background: failed ? "#c62828" : colourOf(row.span.service_name, services),
                    }}
                  />
                  <span className="span-duration" style={{ left: `min(${(row.offset + row.width) * 100}%, 88%)` }}>
                    {formatDuration(row.span.duration)}
                  </span>
                </span>
              </div>
            );
          })}
          <p className="muted small legend">Spans on the critical path are outlined; the trace could not finish earlier than they did.</p>
        </div>
        {chosen && <SpanDetail span={chosen} traceStart={laidOut.start} onClose={() => setSelected(null)} />}
      </div>
    </div>
  );
}

function SpanDetail({ span, traceStart, onClose }: { span: SpanRow; traceStart: number; onClose: () => void }) {
  const attributes = Object.entries(span).filter(([key]) => !SPAN_COLUMNS.has(key) && !key.startsWith("service_"));
  const resource = Object.entries(span).filter(([key]) => key.startsWith("service_") && key !== "service_name");
  const events = parseJsonList(span.events);
  const links = parseJsonList(span.links);
  const table = (rows: [string, unknown][]) => (
    <table className="detail-table">
      <tbody>
        {rows.map(([key, value]) => (
          <tr key={key}>
            <th>{key}</th>
            <td>{typeof value === "string" ? value : JSON.stringify(value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
  return (
    <aside className="span-detail" aria-label="Span">
      <div className="panel-head">
        <strong>{span.operation_name}</strong>
        <span className="spacer" />
        <button type="button" onClick={onClose} aria-label="Close span">
          ✕
        </button>
      </div>
      {table([
        ["service", span.service_name],
        ["kind", span.span_kind ?? ""],
        ["status", `${span.span_status ?? ""}${span.status_message ? `: ${span.status_message}` : ""}`],
        ["duration", formatDuration(span.duration)],
        ["starts after", formatDuration((span.start_time - traceStart) / 1000)],
        ["span id", span.span_id],
        ["parent", span.reference_parent_span_id ?? "(root)"],
      ])}
      <h5>Attributes</h5>
      {attributes.length ? table(attributes) : <p className="muted small">none</p>}
      <h5>Events</h5>
      {events.length ? (
        <ul className="events">
          {events.map((event, index) => (
            <li key={index}>
              <strong>{String(event.name)}</strong>{" "}
              <span className="muted small">+{formatDuration(Number(event._timestamp) - traceStart / 1000)}</span>
              <pre className="mono small">{JSON.stringify(event.attributes)}</pre>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted small">none</p>
      )}
      <h5>Links</h5>
      {links.length ? <pre className="mono small">{JSON.stringify(links, null, 2)}</pre> : <p className="muted small">none</p>}
      <h5>Resource</h5>
      {resource.length ? table(resource) : <p className="muted small">none</p>}
    </aside>
  );
}
