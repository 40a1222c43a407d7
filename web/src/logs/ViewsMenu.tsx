// The logs page's "Saved views" (server-side, personal: save, open, rename, delete) and
// "History" (this browser's last 50 distinct queries of the user: click to run again) menus.
import { useCallback, useEffect, useState } from "react";
import { plural } from "../format";
import { type LogsState } from "../state";
import { describeRange } from "../time";
import type { HistoryEntry } from "./history";
import { createView, deleteView, listViews, type SavedView, stateOfView, updateView, viewData } from "./savedViews";

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function SavedViewsMenu({ org, state, onOpen }: { org: string; state: LogsState; onOpen: (state: LogsState) => void }) {
  const [open, setOpen] = useState(false);
  const [views, setViews] = useState<SavedView[] | null>(null);
  const [error, setError] = useState("");
  const [name, setName] = useState("");
  const [renaming, setRenaming] = useState<{ id: string; name: string } | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [note, setNote] = useState("");

  const load = useCallback(() => {
    setError("");
    listViews(org).then(
      (list) => setViews([...list].sort((a, b) => a.view_name.localeCompare(b.view_name))),
      (e) => setError(message(e)),
    );
  }, [org]);
  useEffect(() => {
    if (open) load();
  }, [open, load]);

  const save = async (event: React.FormEvent) => {
    event.preventDefault();
    const trimmed = name.trim();
    if (!trimmed) {
      setError("Give the view a name.");
      return;
    }
    try {
      await createView(org, trimmed, viewData(state));
      setName("");
      setNote(`Saved “${trimmed}”.`);
      load();
    } catch (e) {
      setError(message(e));
    }
  };

  const rename = async (view: SavedView) => {
    if (!renaming) return;
    const trimmed = renaming.name.trim();
    if (!trimmed) return;
    try {
      await updateView(org, view.view_id, trimmed, view.data);
      setRenaming(null);
      setNote(`Renamed to “${trimmed}”.`);
      load();
    } catch (e) {
      setError(message(e));
    }
  };

  const remove = async (view: SavedView) => {
    try {
      await deleteView(org, view.view_id);
      setDeleting(null);
      setNote(`Deleted “${view.view_name}”.`);
      load();
    } catch (e) {
      setError(message(e));
    }
  };

  return (
    <div className="menu">
      <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
        Saved views ▾
      </button>
      {open && (
        <div className="popover views-popover" role="dialog" aria-label="Saved views">
          <form className="row" onSubmit={save}>
            <input aria-label="View name" placeholder="Name of this view" value={name} onChange={(e) => setName(e.target.value)} />
            <button type="submit" className="primary">
              Save current view
            </button>
          </form>
          {note && <p className="ok small">{note}</p>}
          {error && (
            <p className="error small" role="alert">
              {error}
            </p>
          )}
          {views === null && !error && <p className="muted small">Loading…</p>}
          {views && views.length === 0 && <p className="muted small">No saved views yet. A view keeps the stream, query, columns and time range.</p>}
          {views && views.length > 0 && (
            <ul className="menu-list">
              {views.map((view) => {
                const target = stateOfView(view.data);
                return (
                  <li key={view.view_id} data-view={view.view_name}>
                    {renaming?.id === view.view_id ? (
                      <form
                        className="row"
                        onSubmit={(e) => {
                          e.preventDefault();
                          rename(view);
                        }}
                      >
                        <input aria-label="New name" value={renaming.name} onChange={(e) => setRenaming({ id: view.view_id, name: e.target.value })} autoFocus />
                        <button type="submit">Save name</button>
                        <button type="button" onClick={() => setRenaming(null)}>
                          Cancel
                        </button>
                      </form>
                    ) : (
                      <>
                        <button
                          type="button"
                          className="link-button menu-main"
                          disabled={!target}
                          title={target ? `${target.stream}: ${target.query || "all records"} · ${describeRange(target)}` : "This view cannot be opened here"}
                          onClick={() => {
                            if (!target) return;
                            setOpen(false);
                            onOpen(target);
                          }}
                        >
                          {view.view_name}
                        </button>
                        <span className="muted small">{target?.stream}</span>
                        <button type="button" className="icon-button" aria-label={`Rename ${view.view_name}`} onClick={() => setRenaming({ id: view.view_id, name: view.view_name })}>
                          rename
                        </button>
                        {deleting === view.view_id ? (
                          <button type="button" className="danger small" onClick={() => remove(view)}>
                            Confirm delete
                          </button>
                        ) : (
                          <button type="button" className="icon-button" aria-label={`Delete ${view.view_name}`} onClick={() => setDeleting(view.view_id)}>
                            delete
                          </button>
                        )}
                      </>
                    )}
                  </li>
                );
              })}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}

function ago(at: number): string {
  const seconds = Math.max(0, Math.round((Date.now() - at) / 1000));
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${plural(Math.floor(seconds / 60), "minute")} ago`;
  if (seconds < 86400) return `${plural(Math.floor(seconds / 3600), "hour")} ago`;
  return `${plural(Math.floor(seconds / 86400), "day")} ago`;
}

export function HistoryMenu({ entries, onRun, onClear }: { entries: HistoryEntry[]; onRun: (entry: HistoryEntry) => void; onClear: () => void }) {
  const [open, setOpen] = useState(false);
  return (
    <div className="menu">
      <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
        History ▾
      </button>
      {open && (
        <div className="popover history-popover" role="dialog" aria-label="Query history">
          {entries.length === 0 && <p className="muted small">Queries you run appear here.</p>}
          {entries.length > 0 && (
            <ul className="menu-list">
              {entries.map((entry, index) => (
                <li key={index}>
                  <button
                    type="button"
                    className="history-entry"
                    data-testid="history-entry"
                    onClick={() => {
                      setOpen(false);
                      onRun(entry);
                    }}
                  >
                    <code className="history-query">{entry.query}</code>
                    <span className="muted small">
                      {entry.mode === "sql" ? "SQL · " : ""}
                      {entry.stream} · {describeRange(entry)} · {ago(entry.at)}
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          )}
          {entries.length > 0 && (
            <button type="button" className="small" onClick={onClear}>
              Clear history
            </button>
          )}
        </div>
      )}
    </div>
  );
}
