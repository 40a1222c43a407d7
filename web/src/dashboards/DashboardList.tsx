// The dashboards page: folders (default first, built-in last) and their dashboards, search by
// title across folders, folders created, renamed and deleted, dashboards created, duplicated,
// moved, exported, deleted and imported. Built-in dashboards are read-only: they offer a copy.
import { useCallback, useEffect, useState } from "react";
import { navigate } from "../router";
import { formatTime } from "../time";
import * as dash from "./dashApi";
import { SaveCopyDialog } from "./DashboardView";
import { Modal, ModalActions } from "./editors";
import { ImportDialog } from "./ImportDialog";
import { download, exportFile } from "./importing";
import type { Dashboard, Folder, Summary } from "./types";
import { BUILTIN_FOLDER, DEFAULT_FOLDER } from "./types";

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

function FolderDialog({ title, initial, onSave, onClose }: { title: string; initial?: Folder; onSave: (name: string, description: string) => Promise<void>; onClose: () => void }) {
  const [name, setName] = useState(initial?.name ?? "");
  const [description, setDescription] = useState(initial?.description ?? "");
  const [error, setError] = useState("");
  return (
    <Modal title={title} onClose={onClose}>
      <div className="form">
        <label className="stacked">
          Name
          <input aria-label="Folder name" value={name} onChange={(e) => setName(e.target.value)} autoFocus />
        </label>
        <label className="stacked">
          Description
          <input aria-label="Folder description" value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
      </div>
      <ModalActions error={error} onCancel={onClose} label="Save" disabled={!name.trim()} onConfirm={() => onSave(name.trim(), description).then(onClose, (e) => setError(errorText(e)))} />
    </Modal>
  );
}

function NewDashboardDialog({ org, folders, folder, onClose }: { org: string; folders: Folder[]; folder: string; onClose: () => void }) {
  const [title, setTitle] = useState("");
  const [target, setTarget] = useState(folder === BUILTIN_FOLDER ? DEFAULT_FOLDER : folder);
  const [error, setError] = useState("");
  const create = async () => {
    try {
      const document: Dashboard = {
        version: 8,
        title: title.trim(),
        description: "",
        role: "",
        tabs: [{ tabId: "default", name: "Default", panels: [] }],
        variables: { list: [], showDynamicFilters: false },
        defaultDatetimeDuration: { type: "relative", relativeTimePeriod: "1h", startTime: 0, endTime: 0 },
      };
      const saved = await dash.createDashboard(org, target, document);
      onClose();
      navigate(`/dashboards/view?org=${encodeURIComponent(org)}&dashboard=${encodeURIComponent(saved.v8.dashboardId ?? "")}`);
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <Modal title="New dashboard" onClose={onClose}>
      <div className="form">
        <label className="stacked">
          Title
          <input aria-label="Dashboard title" value={title} onChange={(e) => setTitle(e.target.value)} onKeyDown={(e) => e.key === "Enter" && title.trim() && create()} autoFocus />
        </label>
        <label className="stacked">
          Folder
          <select aria-label="Folder" value={target} onChange={(e) => setTarget(e.target.value)}>
            {folders
              .filter((f) => f.folderId !== BUILTIN_FOLDER)
              .map((f) => (
                <option key={f.folderId} value={f.folderId}>
                  {f.name}
                </option>
              ))}
          </select>
        </label>
      </div>
      <ModalActions error={error} onCancel={onClose} label="Create" disabled={!title.trim()} onConfirm={create} />
    </Modal>
  );
}

export function DashboardList({ org, search, canEdit }: { org: string; search: string; canEdit: boolean }) {
  const params = new URLSearchParams(search);
  const folder = params.get("folder") ?? DEFAULT_FOLDER;
  const query = params.get("q") ?? "";
  const [folders, setFolders] = useState<Folder[]>([]);
  const [dashboards, setDashboards] = useState<Summary[] | null>(null);
  const [error, setError] = useState("");
  const [draft, setDraft] = useState(query);
  const [dialog, setDialog] = useState<
    { kind: "folder"; folder?: Folder } | { kind: "new" } | { kind: "import" } | { kind: "copy"; doc: Dashboard } | null
  >(null);
  const [reload, setReload] = useState(0);

  const go = useCallback(
    (change: { folder?: string; q?: string }) => {
      const next = new URLSearchParams({ org });
      const f = change.folder ?? folder;
      const q = change.q ?? query;
      if (f !== DEFAULT_FOLDER) next.set("folder", f);
      if (q) next.set("q", q);
      navigate(`/dashboards?${next}`, change.q !== undefined);
    },
    [org, folder, query],
  );

  useEffect(() => {
    dash.listFolders(org).then(setFolders, (e) => setError(errorText(e)));
  }, [org, reload]);

  // The latest listing only: an earlier, slower answer is aborted and ignored.
  useEffect(() => {
    setDashboards(null);
    setError("");
    const abort = new AbortController();
    const load = query ? dash.searchDashboards(org, query, abort.signal) : dash.listDashboards(org, folder, abort.signal);
    load.then(
      (list) => !abort.signal.aborted && setDashboards(list),
      (e) => !abort.signal.aborted && setError(errorText(e)),
    );
    return () => abort.abort();
  }, [org, folder, query, reload]);

  // Search as you type (a moment after the last key).
  useEffect(() => {
    if (draft === query) return;
    const timer = window.setTimeout(() => go({ q: draft }), 300);
    return () => window.clearTimeout(timer);
  }, [draft]); // eslint-disable-line react-hooks/exhaustive-deps

  const refresh = () => setReload((n) => n + 1);
  const act = (work: () => Promise<unknown>) => {
    setError("");
    work().then(refresh, (e) => setError(errorText(e)));
  };
  const open = (id: string) => navigate(`/dashboards/view?org=${encodeURIComponent(org)}&dashboard=${encodeURIComponent(id)}`);
  const current = folders.find((f) => f.folderId === folder);

  const duplicate = (d: Summary) =>
    act(async () => {
      const { v8 } = await dash.getDashboard(org, d.dashboard_id);
      const { dashboardId: _id, owner: _owner, created: _created, ...rest } = v8;
      await dash.createDashboard(org, d.folder_id === BUILTIN_FOLDER ? DEFAULT_FOLDER : d.folder_id, { ...rest, title: `${v8.title} (copy)` });
    });
  const exportOne = (d: Summary) =>
    act(async () => {
      const { v8 } = await dash.getDashboard(org, d.dashboard_id);
      const { name, text } = exportFile(v8);
      download(name, text);
    });
  const remove = (d: Summary) => {
    if (window.confirm(`Delete the dashboard “${d.title}”?`)) act(() => dash.deleteDashboard(org, d.dashboard_id));
  };
  const removeFolder = (f: Folder) => {
    if (!window.confirm(`Delete the folder “${f.name}”?`)) return;
    act(async () => {
      await dash.deleteFolder(org, f.folderId);
      go({ folder: DEFAULT_FOLDER });
    });
  };
  const copyBuiltin = (d: Summary) => dash.getDashboard(org, d.dashboard_id).then(({ v8 }) => setDialog({ kind: "copy", doc: v8 }), (e) => setError(errorText(e)));

  return (
    <div className="dash-list-page">
      <div className="toolbar">
        <input type="search" aria-label="Search dashboards" placeholder="Search dashboards by title" value={draft} onChange={(e) => setDraft(e.target.value)} />
        <span className="spacer" />
        {canEdit && (
          <>
            <button type="button" onClick={() => setDialog({ kind: "folder" })}>
              New folder
            </button>
            <button type="button" onClick={() => setDialog({ kind: "import" })}>
              Import
            </button>
            <button type="button" className="primary" onClick={() => setDialog({ kind: "new" })}>
              New dashboard
            </button>
          </>
        )}
      </div>
      {error && (
        <p className="error dash-message" role="alert">
          {error}
        </p>
      )}
      <div className="dash-list-body">
        <nav className="sidebar folder-list" aria-label="Folders">
          <ul>
            {folders.map((f) => (
              <li key={f.folderId} className={!query && f.folderId === folder ? "selected" : ""}>
                <button type="button" className="folder-name" aria-current={!query && f.folderId === folder} onClick={() => (setDraft(""), go({ folder: f.folderId, q: "" }))}>
                  {f.folderId === BUILTIN_FOLDER ? "🔒 " : "📁 "}
                  {f.name}
                </button>
                {canEdit && f.folderId !== BUILTIN_FOLDER && (
                  <button type="button" className="icon-button" aria-label={`Rename folder ${f.name}`} onClick={() => setDialog({ kind: "folder", folder: f })}>
                    ✎
                  </button>
                )}
                {canEdit && f.folderId !== BUILTIN_FOLDER && f.folderId !== DEFAULT_FOLDER && (
                  <button type="button" className="icon-button" aria-label={`Delete folder ${f.name}`} onClick={() => removeFolder(f)}>
                    ✕
                  </button>
                )}
              </li>
            ))}
          </ul>
        </nav>
        <section className="dash-list" aria-label="Dashboards">
          <h3>{query ? `Dashboards whose title contains “${query}”` : (current?.name ?? folder)}</h3>
          {current?.description && !query && <p className="muted">{current.description}</p>}
          {folder === BUILTIN_FOLDER && !query && <p className="muted">Built-in dashboards are read-only: save a copy to change one.</p>}
          {dashboards === null ? (
            <p className="muted">Loading…</p>
          ) : !dashboards.length ? (
            <p className="muted empty">{query ? "No dashboard matches." : "No dashboards in this folder yet."}</p>
          ) : (
            <table className="dash-table list-table">
              <thead>
                <tr>
                  <th>Title</th>
                  {query && <th>Folder</th>}
                  <th>Description</th>
                  <th>Updated</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {dashboards.map((d) => {
                  const builtin = d.folder_id === BUILTIN_FOLDER;
                  return (
                    <tr key={d.dashboard_id} data-testid="dashboard-row" data-dashboard={d.dashboard_id}>
                      <td>
                        <a
                          href={`/dashboards/view?org=${encodeURIComponent(org)}&dashboard=${encodeURIComponent(d.dashboard_id)}`}
                          onClick={(e) => {
                            e.preventDefault();
                            open(d.dashboard_id);
                          }}
                        >
                          {d.title}
                        </a>
                        {d.managed_by && <span className="muted small" title={`managed by ${d.managed_by}`}> · as code</span>}
                      </td>
                      {query && <td>{d.folder_name}</td>}
                      <td className="muted">{d.description}</td>
                      <td className="muted small">{d.updatedAt ? formatTime(d.updatedAt).slice(0, 16) : ""}</td>
                      <td className="actions">
                        {builtin && canEdit && (
                          <button type="button" onClick={() => copyBuiltin(d)}>
                            Save a copy
                          </button>
                        )}
                        {!builtin && canEdit && (
                          <>
                            <button type="button" onClick={() => duplicate(d)}>
                              Duplicate
                            </button>
                            <select
                              aria-label={`Move ${d.title}`}
                              value=""
                              onChange={(e) => e.target.value && act(() => dash.moveDashboards(org, [d.dashboard_id], e.target.value))}
                            >
                              <option value="">Move to…</option>
                              {folders
                                .filter((f) => f.folderId !== BUILTIN_FOLDER && f.folderId !== d.folder_id)
                                .map((f) => (
                                  <option key={f.folderId} value={f.folderId}>
                                    {f.name}
                                  </option>
                                ))}
                            </select>
                          </>
                        )}
                        <button type="button" onClick={() => exportOne(d)}>
                          Export
                        </button>
                        {!builtin && canEdit && (
                          <button type="button" aria-label={`Delete ${d.title}`} onClick={() => remove(d)}>
                            Delete
                          </button>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </section>
      </div>
      {dialog?.kind === "folder" && (
        <FolderDialog
          title={dialog.folder ? "Rename folder" : "New folder"}
          initial={dialog.folder}
          onClose={() => setDialog(null)}
          onSave={async (name, description) => {
            if (dialog.folder) await dash.updateFolder(org, dialog.folder.folderId, name, description);
            else {
              const created = await dash.createFolder(org, name, description);
              go({ folder: created.folderId, q: "" });
            }
            refresh();
          }}
        />
      )}
      {dialog?.kind === "new" && <NewDashboardDialog org={org} folders={folders} folder={folder} onClose={() => setDialog(null)} />}
      {dialog?.kind === "import" && <ImportDialog org={org} folder={folder} onClose={() => setDialog(null)} onImported={refresh} />}
      {dialog?.kind === "copy" && <SaveCopyDialog org={org} doc={dialog.doc} onClose={() => setDialog(null)} />}
    </div>
  );
}
