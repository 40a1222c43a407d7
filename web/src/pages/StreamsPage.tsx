// Streams of the organisation with their stats; a stream's schema and settings.
import { useCallback, useEffect, useState } from "react";
import * as api from "../api";
import { typeIcon } from "../components/FieldSidebar";
import { plural } from "../format";
import { navigate } from "../router";
import { PipelineEditor } from "./PipelineEditor";
import { formatTime } from "../time";

export function formatBytes(bytes: number): string {
  if (!bytes) return "0 B";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  const power = Math.min(units.length - 1, Math.floor(Math.log(bytes) / Math.log(1024)));
  return `${(bytes / 1024 ** power).toFixed(power ? 1 : 0)} ${units[power]}`;
}

export function StreamsPage({ org }: { org: string }) {
  const [streams, setStreams] = useState<api.StreamInfo[] | null>(null);
  const [error, setError] = useState("");
  const [open, setOpen] = useState<string | null>(null);

  const load = useCallback(() => {
    api.listStreams(org).then(
      (list) => setStreams(list.sort((a, b) => a.name.localeCompare(b.name))),
      (e) => setError(e instanceof Error ? e.message : String(e)),
    );
  }, [org]);
  useEffect(load, [load]);

  if (error) return <p className="error">{error}</p>;
  if (!streams) return <p className="muted">Loading…</p>;
  return (
    <div className="streams-page">
      <h2>Streams</h2>
      <table className="streams-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Type</th>
            <th className="num">Records</th>
            <th className="num">Raw size</th>
            <th className="num">Stored size</th>
            <th className="num">Index size</th>
            <th className="num">Files</th>
            <th>Retention</th>
            <th>Time range</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {streams.map((s) => (
            <tr key={s.name}>
              <td>
                <a
                  href={`/logs?org=${encodeURIComponent(org)}&stream=${encodeURIComponent(s.name)}`}
                  onClick={(e) => {
                    e.preventDefault();
                    navigate(`/logs?org=${encodeURIComponent(org)}&stream=${encodeURIComponent(s.name)}`);
                  }}
                >
                  {s.name}
                </a>
              </td>
              <td>{s.stream_type}</td>
              <td className="num">{s.stats.doc_num.toLocaleString()}</td>
              <td className="num">{formatBytes(s.stats.raw_bytes)}</td>
              <td className="num">{formatBytes(s.stats.stored_bytes)}</td>
              <td className="num">{formatBytes(s.stats.index_bytes)}</td>
              <td className="num" title={compactionTitle(s.stats)}>
                {s.stats.file_num.toLocaleString()}
                {s.stats.small_file_num ? <span className="muted small"> ({s.stats.small_file_num.toLocaleString()} small)</span> : null}
              </td>
              <td>{retentionText(s.stats.retention_days)}</td>
              <td className="small">{s.stats.doc_time_min ? `${formatTime(s.stats.doc_time_min)} → ${formatTime(s.stats.doc_time_max)}` : "—"}</td>
              <td>
                <button type="button" onClick={() => setOpen(open === s.name ? null : s.name)} aria-label={`Details of ${s.name}`}>
                  Schema &amp; settings
                </button>
              </td>
            </tr>
          ))}
          {streams.length === 0 && (
            <tr>
              <td colSpan={10} className="muted">
                No streams yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {open && <StreamDetail key={open} org={org} stream={open} onSaved={load} />}
    </div>
  );
}

/** A stream's files as the compactor sees them. */
export function compactionTitle(stats: api.StreamStats): string {
  const small = stats.small_file_num ?? 0;
  const compacted = stats.compacted_file_num ?? 0;
  return `${plural(stats.file_num, "file")}: ${compacted} merged by the compactor, ${small} small enough to be merged`;
}

/** Retention in force, as shown in the streams table. */
export function retentionText(days: number | undefined): string {
  if (!days) return "forever";
  return plural(days, "day");
}

const splitList = (text: string) =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

function StreamDetail({ org, stream, onSaved }: { org: string; stream: string; onSaved: () => void }) {
  const [info, setInfo] = useState<api.StreamInfo | null>(null);
  const [retention, setRetention] = useState("0");
  const [partitionKeys, setPartitionKeys] = useState("");
  const [fullText, setFullText] = useState("");
  const [timestampFields, setTimestampFields] = useState("");
  const [message, setMessage] = useState("");
  const [error, setError] = useState("");

  useEffect(() => {
    api.streamSchema(org, stream).then((value) => {
      setInfo(value);
      setRetention(String(value.settings.data_retention));
      setPartitionKeys(value.settings.partition_keys.join(", "));
      setFullText(value.settings.full_text_search_keys.join(", "));
      setTimestampFields(value.settings.timestamp_fields.join(", "));
    }, (e) => setError(e instanceof Error ? e.message : String(e)));
  }, [org, stream]);

  const save = async (event: React.FormEvent) => {
    event.preventDefault();
    setMessage("");
    setError("");
    const days = Number(retention);
    if (!Number.isInteger(days) || days < 0) {
      setError("retention must be a whole number of days (0 = server default)");
      return;
    }
    try {
      await api.updateSettings(org, stream, {
        data_retention: days,
        partition_keys: splitList(partitionKeys),
        full_text_search_keys: splitList(fullText),
        timestamp_fields: splitList(timestampFields),
      });
      setMessage("Settings saved.");
      onSaved();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  if (!info) return error ? <p className="error">{error}</p> : <p className="muted">Loading…</p>;
  return (
    <section className="stream-detail" aria-label={`Stream ${stream}`}>
      <h3>{stream}</h3>
      <div className="detail-columns">
        <div>
          <h4>Schema ({plural(info.schema?.length ?? 0, "field")})</h4>
          <table className="schema-table">
            <tbody>
              {(info.schema ?? []).map((f) => (
                <tr key={f.name}>
                  <td className="type-icon" title={typeIcon(f.type).title}>
                    {typeIcon(f.type).icon}
                  </td>
                  <td>{f.name}</td>
                  <td className="muted">{f.type}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <form onSubmit={save} className="settings-form">
          <h4>Settings</h4>
          <label>
            Retention (days, 0 = server default)
            <input inputMode="numeric" value={retention} onChange={(e) => setRetention(e.target.value)} aria-label="Retention days" />
          </label>
          <label>
            Partition keys (comma-separated, at most 4)
            <input value={partitionKeys} onChange={(e) => setPartitionKeys(e.target.value)} aria-label="Partition keys" />
          </label>
          <label>
            Full-text fields (empty = log, message, msg, content, data, body, json, error)
            <input value={fullText} onChange={(e) => setFullText(e.target.value)} aria-label="Full-text fields" />
          </label>
          <label>
            Timestamp fields (empty = timestamp, time, ts)
            <input value={timestampFields} onChange={(e) => setTimestampFields(e.target.value)} aria-label="Timestamp fields" />
          </label>
          <button type="submit" className="primary">
            Save settings
          </button>
          {message && <p className="ok">{message}</p>}
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
        </form>
      </div>
      <PipelineEditor org={org} stream={stream} />
    </section>
  );
}
