// Alerts: the list with state, last evaluation and next run; the editor; templates,
// destinations and the history. The tab and the alert being edited live in the URL.
import { useCallback, useEffect, useState } from "react";
import * as alertsApi from "../alertsApi";
import { navigate } from "../router";
import { formatTime } from "../time";
import { AlertEditor } from "./AlertEditor";
import { DestinationsTab, TemplatesTab } from "./ObjectEditors";
import { plural } from "../format";

const TABS = ["alerts", "templates", "destinations", "history"] as const;
type Tab = (typeof TABS)[number];

export const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function AlertsPage({ org, search }: { org: string; search: string }) {
  const params = new URLSearchParams(search);
  const tab = (TABS as readonly string[]).includes(params.get("tab") ?? "") ? (params.get("tab") as Tab) : "alerts";
  const go = (next: Record<string, string>) => {
    const query = new URLSearchParams({ org, ...next });
    navigate(`/alerts?${query.toString()}`);
  };
  return (
    <div className="alerts-page">
      <div className="tabs" role="tablist">
        {TABS.map((t) => (
          <button key={t} type="button" role="tab" aria-selected={tab === t} onClick={() => go({ tab: t })}>
            {t[0].toUpperCase() + t.slice(1)}
          </button>
        ))}
      </div>
      <div className="tab-body">
        {tab === "alerts" && <AlertsTab org={org} editing={params.get("edit")} go={go} />}
        {tab === "templates" && <TemplatesTab org={org} />}
        {tab === "destinations" && <DestinationsTab org={org} />}
        {tab === "history" && <HistoryTab org={org} alertId={params.get("alert") ?? ""} go={go} />}
      </div>
    </div>
  );
}

function StateBadge({ alert }: { alert: alertsApi.AlertWithState }) {
  const state = alertsApi.alertState(alert);
  return <span className={`badge ${state.tone}`}>{state.label}</span>;
}

function AlertsTab({ org, editing, go }: { org: string; editing: string | null; go: (p: Record<string, string>) => void }) {
  const [alerts, setAlerts] = useState<alertsApi.AlertWithState[] | null>(null);
  const [error, setError] = useState("");
  const [message, setMessage] = useState("");

  const load = useCallback(() => {
    alertsApi.listAlerts(org).then(
      (list) => setAlerts(list.sort((a, b) => a.name.localeCompare(b.name))),
      (e) => setError(errorText(e)),
    );
  }, [org]);
  useEffect(load, [load]);

  if (editing !== null) {
    const existing = alerts?.find((a) => a.id === editing);
    if (editing && !existing) return alerts ? <p className="error">Alert {editing} not found.</p> : <p className="muted">Loading…</p>;
    return (
      <AlertEditor
        org={org}
        initial={existing ?? alertsApi.emptyAlert("")}
        onDone={() => {
          load();
          go({ tab: "alerts" });
        }}
      />
    );
  }

  const act = async (what: () => Promise<string>) => {
    setError("");
    setMessage("");
    try {
      setMessage(await what());
    } catch (e) {
      setError(errorText(e));
    }
    load();
  };

  return (
    <div>
      <div className="tab-actions">
        <button type="button" className="primary" onClick={() => go({ tab: "alerts", edit: "" })}>
          New alert
        </button>
        <button type="button" onClick={load}>
          Refresh
        </button>
        {message && <span className="ok">{message}</span>}
        {error && <span className="error">{error}</span>}
      </div>
      <table className="data-table alerts-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Stream</th>
            <th>State</th>
            <th>Last evaluation</th>
            <th>Next run</th>
            <th>Summary</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(alerts ?? []).map((a) => (
            <tr key={a.id} data-alert={a.name}>
              <td>
                <a
                  href={`/alerts?org=${encodeURIComponent(org)}&edit=${a.id}`}
                  onClick={(e) => {
                    e.preventDefault();
                    go({ tab: "alerts", edit: a.id });
                  }}
                >
                  {a.name}
                </a>
                {a.managed_by && <span className="muted small"> ({a.managed_by})</span>}
              </td>
              <td>{a.stream_name}</td>
              <td>
                <StateBadge alert={a} />
              </td>
              <td className="small">{a.last_run_at ? formatTime(a.last_run_at) : "—"}</td>
              <td className="small">
                {!a.enabled ? "—" : a.is_real_time ? "on every batch" : a.next_run_at ? formatTime(a.next_run_at) : "soon"}
              </td>
              <td className="small summary-cell">{a.summary}</td>
              <td className="row-actions">
                <button
                  type="button"
                  onClick={() =>
                    act(async () => {
                      await alertsApi.enableAlert(org, a.id, !a.enabled);
                      return a.enabled ? `Disabled ${a.name}` : `Enabled ${a.name}`;
                    })
                  }
                >
                  {a.enabled ? "Disable" : "Enable"}
                </button>
                <button
                  type="button"
                  onClick={() =>
                    act(async () => {
                      const outcome = await alertsApi.triggerAlert(org, a.id);
                      return `${a.name}: ${outcome.status.replace("_", " ")} (value ${outcome.value})`;
                    })
                  }
                >
                  Run now
                </button>
                <button type="button" onClick={() => go({ tab: "history", alert: a.id })}>
                  History
                </button>
                <button
                  type="button"
                  onClick={() => {
                    if (!window.confirm(`Delete alert ${a.name}?`)) return;
                    void act(async () => {
                      await alertsApi.deleteAlert(org, a.id);
                      return `Deleted ${a.name}`;
                    });
                  }}
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
          {alerts && alerts.length === 0 && (
            <tr>
              <td colSpan={7} className="muted">
                No alerts yet. Create one, or declare them in YAML (see the alerts documentation).
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

function historyDetail(entry: alertsApi.HistoryEntry): string {
  const d = entry.detail ?? {};
  if (typeof d.destination === "string") {
    return typeof d.error === "string" ? `${d.destination}: ${d.error}` : `${d.destination}: accepted (${String(d.http_status)}) after ${plural(Number(d.attempts), "attempt")}`;
  }
  if (typeof d.error === "string") return d.error;
  if (d.value !== undefined) {
    const previous = d.previous !== undefined ? `, previous period ${String(d.previous)}` : "";
    return `value ${String(d.value)} ${String(d.operator)} ${String(d.threshold)}${previous}`;
  }
  return JSON.stringify(d);
}

const STATUS_TONE: Record<string, string> = {
  fired: "bad",
  error: "bad",
  delivery_failed: "bad",
  rate_limited: "warn",
  silenced: "warn",
  delivered: "good",
  not_fired: "good",
};

function HistoryTab({ org, alertId, go }: { org: string; alertId: string; go: (p: Record<string, string>) => void }) {
  const [entries, setEntries] = useState<alertsApi.HistoryEntry[] | null>(null);
  const [alerts, setAlerts] = useState<alertsApi.AlertWithState[]>([]);
  const [error, setError] = useState("");
  const load = useCallback(() => {
    alertsApi.history(org, alertId || undefined).then(setEntries, (e) => setError(errorText(e)));
  }, [org, alertId]);
  useEffect(load, [load]);
  useEffect(() => {
    alertsApi.listAlerts(org).then(setAlerts, () => undefined);
  }, [org]);
  return (
    <div>
      <div className="tab-actions">
        <label>
          Alert{" "}
          <select aria-label="History of alert" value={alertId} onChange={(e) => go({ tab: "history", alert: e.target.value })}>
            <option value="">All alerts</option>
            {alerts.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={load}>
          Refresh
        </button>
        {error && <span className="error">{error}</span>}
      </div>
      <table className="data-table history-table">
        <thead>
          <tr>
            <th>Time</th>
            <th>Alert</th>
            <th>Status</th>
            <th>Detail</th>
          </tr>
        </thead>
        <tbody>
          {(entries ?? []).map((entry, index) => (
            <tr key={`${entry.timestamp}-${index}`}>
              <td className="small">{formatTime(entry.timestamp)}</td>
              <td>{entry.alert_name}</td>
              <td>
                <span className={`badge ${STATUS_TONE[entry.status] ?? "muted"}`}>{entry.status.replace("_", " ")}</span>
              </td>
              <td className="small">{historyDetail(entry)}</td>
            </tr>
          ))}
          {entries && entries.length === 0 && (
            <tr>
              <td colSpan={4} className="muted">
                Nothing recorded yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
