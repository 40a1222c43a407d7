// Import: o2 v8 files (a JSON array imports several) are created as they are; Grafana dashboards
// are first converted without saving so that the report (what was converted, approximated and
// dropped, with the reasons) is read before they are saved.
import { useEffect, useState } from "react";
import { navigate } from "../router";
import * as dash from "./dashApi";
import { Modal } from "./editors";
import { type Candidate, candidates } from "./importing";
import type { Folder, ImportReport } from "./types";
import { BUILTIN_FOLDER } from "./types";

interface Entry extends Candidate {
  report?: ImportReport;
  error?: string;
  done?: string; // the new dashboard's id
}

function Report({ report }: { report: ImportReport }) {
  return (
    <div className="import-report" data-testid="import-report">
      <p>
        {report.panels} panel{report.panels === 1 ? "" : "s"} converted
        {report.approximated.length ? `, ${report.approximated.length} approximated` : ""}
        {report.dropped.length ? `, ${report.dropped.length} dropped` : ""}.
      </p>
      {report.approximated.length > 0 && (
        <details open>
          <summary>Approximated</summary>
          <ul>
            {report.approximated.map((a, i) => (
              <li key={i}>{a}</li>
            ))}
          </ul>
        </details>
      )}
      {report.dropped.length > 0 && (
        <details open>
          <summary>Dropped</summary>
          <ul>
            {report.dropped.map((d, i) => (
              <li key={i}>{d}</li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

export function ImportDialog({ org, folder: initialFolder, onClose, onImported }: { org: string; folder: string; onClose: () => void; onImported: () => void }) {
  const [folders, setFolders] = useState<Folder[]>([]);
  const [folder, setFolder] = useState(initialFolder === BUILTIN_FOLDER ? "default" : initialFolder);
  const [pasted, setPasted] = useState("");
  const [files, setFiles] = useState<File[]>([]);
  const [entries, setEntries] = useState<Entry[] | null>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    dash.listFolders(org).then((list) => setFolders(list.filter((f) => f.folderId !== BUILTIN_FOLDER)), () => undefined);
  }, [org]);

  const read = async () => {
    setError("");
    setBusy(true);
    try {
      const found: Entry[] = [];
      for (const file of files) found.push(...candidates(await file.text(), file.name));
      if (pasted.trim()) found.push(...candidates(pasted, "pasted JSON"));
      if (!found.length) throw new Error("choose a file or paste a dashboard's JSON");
      const previewed = await Promise.all(
        found.map(async (entry): Promise<Entry> => {
          if (entry.kind !== "grafana") return entry;
          try {
            const { dashboard, report } = await dash.previewGrafana(org, entry.document);
            return { ...entry, title: dashboard.title, report };
          } catch (e) {
            return { ...entry, error: e instanceof Error ? e.message : String(e) };
          }
        }),
      );
      setEntries(previewed);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const save = async () => {
    if (!entries) return;
    setBusy(true);
    const next: Entry[] = [];
    for (const entry of entries) {
      if (entry.done || (entry.error && entry.kind === "grafana" && !entry.report)) {
        next.push(entry);
        continue;
      }
      try {
        const saved = entry.kind === "grafana" ? await dash.importGrafana(org, folder, entry.document) : await dash.createDashboard(org, folder, entry.document);
        next.push({ ...entry, error: undefined, done: saved.v8.dashboardId });
      } catch (e) {
        next.push({ ...entry, error: e instanceof Error ? e.message : String(e) });
      }
    }
    setEntries(next);
    setBusy(false);
    onImported();
  };

  const importable = entries?.filter((e) => !e.done && !(e.kind === "grafana" && !e.report)).length ?? 0;

  return (
    <Modal title="Import dashboards" onClose={onClose} wide>
      {!entries ? (
        <div className="form">
          <label className="stacked">
            Files (o2 *.dashboard.json, or Grafana dashboard JSON)
            <input type="file" aria-label="Dashboard files" accept=".json,application/json" multiple onChange={(e) => setFiles([...(e.target.files ?? [])])} />
          </label>
          <label className="stacked">
            …or paste JSON
            <textarea aria-label="Dashboard JSON" rows={8} value={pasted} onChange={(e) => setPasted(e.target.value)} />
          </label>
        </div>
      ) : (
        <ul className="import-list" aria-label="Dashboards to import">
          {entries.map((entry, i) => (
            <li key={i} data-testid="import-entry">
              <div className="row-line">
                <strong>{entry.title}</strong>
                <span className="muted small">
                  {entry.kind === "grafana" ? "Grafana dashboard" : "o2 dashboard"} · {entry.source}
                </span>
                <span className="spacer" />
                {entry.done && (
                  <a
                    href={`/dashboards/view?org=${encodeURIComponent(org)}&dashboard=${encodeURIComponent(entry.done)}`}
                    onClick={(e) => {
                      e.preventDefault();
                      onClose();
                      navigate(`/dashboards/view?org=${encodeURIComponent(org)}&dashboard=${encodeURIComponent(entry.done!)}`);
                    }}
                  >
                    Imported: open
                  </a>
                )}
              </div>
              {entry.report && <Report report={entry.report} />}
              {entry.error && (
                <p className="error" role="alert">
                  {entry.error}
                </p>
              )}
            </li>
          ))}
        </ul>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="modal-actions">
        <label>
          Folder{" "}
          <select aria-label="Import folder" value={folder} onChange={(e) => setFolder(e.target.value)}>
            {folders.map((f) => (
              <option key={f.folderId} value={f.folderId}>
                {f.name}
              </option>
            ))}
          </select>
        </label>
        <span className="spacer" />
        <button type="button" onClick={onClose}>
          {entries?.some((e) => e.done) ? "Close" : "Cancel"}
        </button>
        {!entries ? (
          <button type="button" className="primary" disabled={busy} onClick={read}>
            Preview
          </button>
        ) : (
          <button type="button" className="primary" disabled={busy || !importable} onClick={save}>
            Import {importable} dashboard{importable === 1 ? "" : "s"}
          </button>
        )}
      </div>
    </Modal>
  );
}
