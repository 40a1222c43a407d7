// "Add to dashboard": append the chart as a panel to an existing dashboard (read with its hash,
// saved with `?hash=`, so a concurrent save is never overwritten: a 409 says so, and "Reload and
// add again" re-reads the dashboard and appends to the new version), or create a new one.
import { useEffect, useState } from "react";
import { ApiError } from "../api";
import { navigate } from "../router";
import { createDashboard, type DashboardSummary, dashboardUrl, getDashboard, listDashboards, saveDashboard } from "./dashboardsApi";
import { appendPanel, type Json, newDashboard } from "./visualize";

const NEW = "\u0000new";

export interface AddToDashboardProps {
  org: string;
  panel: Json;
  defaultTitle: string;
  timeRange: { from: string; to: string };
  onDone: (dashboardId: string) => void;
}

type Status =
  | { kind: "idle" }
  | { kind: "saving" }
  | { kind: "added"; id: string; title: string }
  | { kind: "conflict"; title: string }
  | { kind: "error"; message: string };

export function AddToDashboard({ org, panel, defaultTitle, timeRange, onDone }: AddToDashboardProps) {
  const [dashboards, setDashboards] = useState<DashboardSummary[] | null>(null);
  const [listError, setListError] = useState("");
  const [target, setTarget] = useState(NEW);
  const [title, setTitle] = useState(defaultTitle);
  const [status, setStatus] = useState<Status>({ kind: "idle" });

  useEffect(() => {
    listDashboards(org).then(
      (list) => {
        setDashboards(list);
        if (list.length) setTarget((t) => (t === NEW ? list[0].dashboard_id : t));
      },
      (e) => setListError(e instanceof Error ? e.message : String(e)),
    );
  }, [org]);

  const add = async () => {
    setStatus({ kind: "saving" });
    try {
      if (target === NEW) {
        const name = title.trim();
        if (!name) {
          setStatus({ kind: "error", message: "The new dashboard needs a title." });
          return;
        }
        const created = await createDashboard(org, newDashboard(name, panel, timeRange));
        const id = String(created.v8.dashboardId ?? "");
        setStatus({ kind: "added", id, title: name });
        setDashboards((list) => [...(list ?? []), { dashboard_id: id, title: name, folder_id: "default", folder_name: "default" }]);
        setTarget(id);
        onDone(id);
        return;
      }
      const current = await getDashboard(org, target);
      const name = String(current.v8.title ?? target);
      try {
        await saveDashboard(org, target, current.hash, appendPanel(current.v8, panel));
      } catch (e) {
        if (e instanceof ApiError && e.status === 409) {
          setStatus({ kind: "conflict", title: name });
          return;
        }
        throw e;
      }
      setStatus({ kind: "added", id: target, title: name });
      onDone(target);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      setStatus({ kind: "error", message: e instanceof ApiError && e.status === 403 ? `Not allowed: ${message}` : message });
    }
  };

  return (
    <div className="add-to-dashboard" role="group" aria-label="Add to dashboard">
      {listError && <p className="error small">{listError}</p>}
      <label className="small">
        Dashboard{" "}
        <select aria-label="Dashboard" value={target} onChange={(e) => setTarget(e.target.value)} disabled={dashboards === null && !listError}>
          {(dashboards ?? []).map((d) => (
            <option key={d.dashboard_id} value={d.dashboard_id}>
              {d.title}
              {d.folder_name && d.folder_name !== "default" ? ` (${d.folder_name})` : ""}
            </option>
          ))}
          <option value={NEW}>New dashboard…</option>
        </select>
      </label>
      {target === NEW && (
        <label className="small">
          Title <input aria-label="New dashboard title" value={title} onChange={(e) => setTitle(e.target.value)} />
        </label>
      )}
      <button type="button" className="primary" onClick={add} disabled={status.kind === "saving"}>
        {status.kind === "saving" ? "Adding…" : "Add panel"}
      </button>
      {status.kind === "added" && (
        <span className="ok small" role="status">
          Added to “{status.title}”.{" "}
          <a
            href={dashboardUrl(org, status.id)}
            onClick={(e) => {
              e.preventDefault();
              navigate(dashboardUrl(org, status.id));
            }}
          >
            Open dashboard
          </a>
        </span>
      )}
      {status.kind === "conflict" && (
        <span className="error small" role="alert">
          “{status.title}” was saved by someone else since it was read; nothing was changed.{" "}
          <button type="button" onClick={add}>
            Reload and add again
          </button>
        </span>
      )}
      {status.kind === "error" && (
        <span className="error small" role="alert">
          {status.message}
        </span>
      )}
    </div>
  );
}
