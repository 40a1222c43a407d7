// The organisation's audit log: every administrative change that succeeded, newest first (admins).
import { useEffect, useState } from "react";
import * as api from "../api";
import { formatTime } from "../time";

export function AuditPage({ org }: { org: string }) {
  const [entries, setEntries] = useState<api.AuditEntry[] | null>(null);
  const [error, setError] = useState("");

  useEffect(() => {
    setEntries(null);
    setError("");
    api.listAudit(org).then(setEntries, (e) => setError(e instanceof Error ? e.message : String(e)));
  }, [org]);

  if (error) return <p className="error" role="alert">{error}</p>;
  if (!entries) return <p className="muted">Loading…</p>;
  return (
    <div className="streams-page">
      <h2>Audit log</h2>
      <p className="muted small">
        Administrative changes of this organisation that succeeded (users, roles, tokens, stream settings, alerts, dashboards), newest first.
      </p>
      <table className="streams-table" aria-label="Audit log">
        <thead>
          <tr>
            <th>Time</th>
            <th>Who</th>
            <th>Change</th>
            <th>Path</th>
            <th className="num">Status</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((entry, index) => (
            <tr key={`${entry._timestamp}-${index}`}>
              <td className="small">{formatTime(entry._timestamp)}</td>
              <td>{entry.actor}</td>
              <td>
                {entry.action} <span className="muted small">{entry.route}</span>
              </td>
              <td className="small">{entry.path}</td>
              <td className="num">{entry.status}</td>
            </tr>
          ))}
          {entries.length === 0 && (
            <tr>
              <td colSpan={5} className="muted">
                No changes recorded yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
