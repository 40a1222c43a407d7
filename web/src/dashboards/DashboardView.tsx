// A dashboard: its variables, time range, refresh, tabs and full-screen panel in the URL
// (`/dashboards/view?org=&dashboard=&from=&to=&refresh=&tab=&viewPanel=&var-<name>=…`), the panel grid, and
// editing (drag and resize, panel and variable editors, settings) saved with the hash it was
// loaded with — a 409 means someone else saved in between.
import { type PointerEvent as ReactPointerEvent, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { ApiError } from "../api";
import { TimeRangePicker } from "../components/TimeRangePicker";
import { seriesName } from "../metrics/promql";
import { navigate, setNavigationGuard } from "../router";
import { useAutoRefresh } from "../components/RefreshPicker";
import { REFRESH_CHOICES, resolveRange } from "../time";
import * as dash from "./dashApi";
import { emptyQuery, Modal, ModalActions, newId, PanelEditor, SettingsDialog, VariablesEditor } from "./editors";
import { Grid, itemOf } from "./Grid";
import { exportFile, download } from "./importing";
import { arrange, bottom, type Item, sectionsByOrder } from "./layout";
import { type DashContext, type PanelAction, PanelView } from "./PanelView";
import { titleText } from "./queries";
import type { Dashboard, Folder, Panel, Stored, Tab } from "./types";
import { BUILTIN_FOLDER } from "./types";
import { VariableBar } from "./VariableBar";
import {
  dynamicFilters,
  type Fetchers,
  resolveVariables,
  resultLine,
  urlValues,
  urlVariables,
  type VarState,
  variableMap,
} from "./variables";

interface Props {
  org: string;
  search: string;
  canEdit: boolean;
}

/** The variable queries' answers, for an org and a range. */
function fetchersFor(org: string, range: [number, number]): Fetchers {
  return {
    labelValues: (label, match) => dash.promLabelValues(org, label, range, match),
    labelNames: (match) => dash.promLabelNames(org, range, match),
    queryResult: async (expr) => {
      const { data } = await dash.promInstant(org, expr, Math.floor(range[1] / 1e6));
      if (data.resultType === "vector") return data.result.map((s) => resultLine(s.metric, s.value[1], s.value[0]));
      if (data.resultType === "scalar" || data.resultType === "string") return [`${data.result[1]} ${Math.round(data.result[0] * 1000)}`];
      return [];
    },
    series: async (match) => (await dash.promSeriesList(org, range, match)).map(seriesName),
    fieldValues: (stream, type, field, size, filters) => dash.fieldValues(org, stream, type, field, range, size, filters),
  };
}

function defaultRange(doc: Dashboard | null): { from: string; to: string } {
  const d = doc?.defaultDatetimeDuration;
  if (d?.type === "absolute" && d.startTime && d.endTime) return { from: String(d.startTime), to: String(d.endTime) };
  const period = d?.relativeTimePeriod && /^\d+[smhdw]$/.test(d.relativeTimePeriod) ? d.relativeTimePeriod : "1h";
  return { from: `now-${period}`, to: "now" };
}

interface View {
  range: [number, number];
  states: VarState[];
  refreshKey: number;
}

/** The rows a dashboard document has collapsed. */
const savedCollapsed = (doc: Dashboard) => new Set(doc.tabs.flatMap((t) => t.panels.filter((p) => p.type === "row" && p.config?.collapsed).map((p) => p.id)));

/** The layout of every tab made tidy (no overlaps, panels fallen up), as it is saved. */
function tidy(doc: Dashboard): Dashboard {
  return {
    ...doc,
    tabs: doc.tabs.map((tab) => {
      const items = tab.panels.map(itemOf);
      const laid = new Map(arrange(items, sectionsByOrder(items)).map((i) => [i.id, i]));
      return {
        ...tab,
        panels: tab.panels.map((p) => {
          const l = laid.get(p.id)!;
          return { ...p, layout: { ...p.layout, x: l.x, y: l.y, w: l.w, h: l.h } };
        }),
      };
    }),
  };
}

export function DashboardView({ org, search, canEdit }: Props) {
  const params = useMemo(() => new URLSearchParams(search), [search]);
  const id = params.get("dashboard") ?? "";
  const [stored, setStored] = useState<Stored | null>(null);
  const [doc, setDoc] = useState<Dashboard | null>(null);
  const [loadError, setLoadError] = useState("");
  const [dirty, setDirty] = useState(false);
  const [editing, setEditing] = useState(false);
  const [view, setView] = useState<View | null>(null);
  const [varsLoading, setVarsLoading] = useState(false);
  const [varsError, setVarsError] = useState("");
  const [tick, setTick] = useState(0);
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const [dialog, setDialog] = useState<
    | { kind: "panel"; panel: Panel; isNew: boolean }
    | { kind: "variables" }
    | { kind: "settings" }
    | { kind: "conflict" }
    | { kind: "copy" }
    | null
  >(null);
  const [message, setMessage] = useState<{ error?: boolean; text: string } | null>(null);
  const [saving, setSaving] = useState(false);

  const load = useCallback(async () => {
    setLoadError("");
    try {
      const answer = await dash.getDashboard(org, id);
      setStored(answer);
      setDoc(structuredClone(answer.v8));
      setDirty(false);
      setEditing(false);
      setCollapsed(savedCollapsed(answer.v8));
    } catch (e) {
      setLoadError(e instanceof Error ? e.message : String(e));
    }
  }, [org, id]);

  useEffect(() => {
    setView(null);
    setDoc(null);
    load();
  }, [load]);

  const fallback = defaultRange(doc);
  const period = params.get("period");
  const from = params.get("from") ?? (period ? `now-${period}` : fallback.from);
  const to = params.get("to") ?? fallback.to;
  const refresh = params.get("refresh") ?? doc?.refresh ?? "off";
  const tabs: Tab[] = doc?.tabs ?? [];
  const tab = tabs.find((t) => t.tabId === params.get("tab")) ?? tabs[0];
  const builtin = stored?.folder_id === BUILTIN_FOLDER;
  const mayEdit = canEdit && !builtin;

  const update = useCallback(
    (change: Record<string, string | string[] | null>, replace = false) => {
      const next = new URLSearchParams(search);
      for (const [key, value] of Object.entries(change)) {
        next.delete(key);
        if (value !== null) for (const v of [value].flat()) next.append(key, v);
      }
      navigate(`/dashboards/view?${next}`, replace);
    },
    [search],
  );

  // Variables and range: resolved together, so that panels run once per change.
  const defs = useMemo(() => doc?.variables?.list ?? [], [doc?.variables]);
  const defsKey = JSON.stringify(defs);
  const wantedKey = JSON.stringify(urlVariables(search));
  const viewRef = useRef(view);
  viewRef.current = view;
  const last = useRef<{ defsKey: string; from: string; to: string; wantedKey: string; tick: number } | null>(null);
  const sequence = useRef(0);
  const [rangeError, setRangeError] = useState("");

  useEffect(() => {
    if (!doc) return;
    const range = resolveRange({ from, to });
    if (!range) {
      setRangeError(`invalid time range ${from} → ${to}`);
      return;
    }
    setRangeError("");
    const previous = last.current;
    last.current = { defsKey, from, to, wantedKey, tick };
    const wanted = urlVariables(search);
    const before = viewRef.current?.states ?? [];
    const defsChanged = !previous || previous.defsKey !== defsKey;
    const rangeChanged = !previous || previous.from !== from || previous.to !== to;
    const changed = new Set(before.filter((s) => wanted[s.name] && JSON.stringify(wanted[s.name]) !== JSON.stringify(urlValues(s))).map((s) => s.name));
    if (!defsChanged && !rangeChanged && !changed.size) {
      if (previous && previous.tick !== tick) setView((v) => v && { ...v, range, refreshKey: tick });
      return;
    }
    const refetch = new Set(defs.filter((d) => defsChanged || (rangeChanged && d.refresh !== 1)).map((d) => d.name));
    const mine = ++sequence.current;
    setVarsLoading(true);
    setVarsError("");
    const fail = (e: unknown) => {
      if (mine !== sequence.current) return;
      setVarsLoading(false);
      setVarsError(`The variables could not be loaded: ${e instanceof Error ? e.message : String(e)}`);
    };
    new Promise<VarState[]>((done) =>
      done(resolveVariables(defs, wanted, { previous: defsChanged ? [] : before, refetch, changed, fetchers: fetchersFor(org, range), range })),
    ).then((states) => {
      if (mine !== sequence.current) return;
      setVarsLoading(false);
      setView({ range, states, refreshKey: tick });
      const fix: Record<string, string[]> = {};
      for (const s of states) {
        const values = urlValues(s);
        if (s.type !== "constant" && JSON.stringify(values) !== JSON.stringify(wanted[s.name] ?? [])) fix[`var-${s.name}`] = values;
      }
      if (Object.keys(fix).length) update(fix, true);
    }, fail);
  }, [doc !== null, defsKey, from, to, wantedKey, tick, org]); // eslint-disable-line react-hooks/exhaustive-deps

  useAutoRefresh(refresh, () => setTick((n) => n + 1));

  // Unsaved changes: asked before leaving the dashboard or the page.
  useEffect(() => {
    if (!dirty) return;
    const unload = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", unload);
    setNavigationGuard(
      (target) =>
        (target.pathname === "/dashboards/view" && target.searchParams.get("dashboard") === id) ||
        window.confirm("This dashboard has unsaved changes. Leave without saving?"),
    );
    return () => {
      window.removeEventListener("beforeunload", unload);
      setNavigationGuard(undefined);
    };
  }, [dirty, id]);

  const onZoom = useCallback((start: number, end: number) => update({ from: String(start), to: String(end) }), [update]);
  const ctx: DashContext | null = useMemo(
    () =>
      view && {
        org,
        range: view.range,
        from,
        to,
        vars: variableMap(defs, view.states, view.range),
        filters: dynamicFilters(view.states),
        syncKey: `kansoku-dashboard-${id}`,
        refreshKey: view.refreshKey,
        onZoom,
      },
    [view, org, id, onZoom], // eslint-disable-line react-hooks/exhaustive-deps
  );

  // ---- editing ----

  const change = (next: Dashboard) => {
    setDoc(next);
    setDirty(true);
  };
  const changePanels = (fn: (panels: Panel[]) => Panel[]) => {
    if (!doc || !tab) return;
    change({ ...doc, tabs: doc.tabs.map((t) => (t.tabId === tab.tabId ? { ...t, panels: fn(t.panels) } : t)) });
  };

  const onLayout = (items: Item[]) => {
    if (!tab) return;
    const panels = tab.panels;
    const same = items.every((i) => {
      const p = panels.find((x) => x.id === i.id);
      return p && p.layout.x === i.x && p.layout.y === i.y && p.layout.w === i.w && p.layout.h === i.h;
    });
    if (same) return;
    const sections = sectionsByOrder(panels.map(itemOf));
    const ordered: Panel[] = [];
    for (const item of items) {
      const panel = panels.find((p) => p.id === item.id)!;
      ordered.push({ ...panel, layout: { ...panel.layout, x: item.x, y: item.y, w: item.w, h: item.h } });
      if (panel.type === "row" && collapsed.has(panel.id)) ordered.push(...panels.filter((_, i) => sections[i] === panel.id));
    }
    for (const p of panels) if (!ordered.some((o) => o.id === p.id)) ordered.push(p);
    changePanels(() => ordered);
  };

  const toggleRow = (row: Panel) => {
    const next = new Set(collapsed);
    if (next.has(row.id)) next.delete(row.id);
    else next.add(row.id);
    setCollapsed(next);
    if (editing) changePanels((panels) => panels.map((p) => (p.id === row.id ? { ...p, config: { ...p.config, collapsed: next.has(row.id) } } : p)));
  };

  const addPanel = () => {
    const y = bottom(tab?.panels.map(itemOf) ?? []);
    setDialog({
      kind: "panel",
      isNew: true,
      panel: { id: newId(), type: "line", title: "", description: "", queryType: "promql", queries: [emptyQuery("promql")], config: { show_legends: true, unit: "numbers" }, layout: { x: 0, y, w: 96, h: 18, i: y } },
    });
  };
  const addRow = () => {
    const y = bottom(tab?.panels.map(itemOf) ?? []);
    changePanels((panels) => [...panels, { id: newId("Row_ID"), type: "row", title: "Row", description: "", queryType: "", queries: [], config: { collapsed: false }, layout: { x: 0, y, w: 192, h: 2, i: y } }]);
  };

  const onAction = (action: PanelAction, panel: Panel) => {
    if (action === "view") update({ viewPanel: panel.id });
    else if (action === "edit") {
      setEditing(true);
      setDialog({ kind: "panel", panel, isNew: false });
    } else if (action === "duplicate") {
      setEditing(true);
      const copy: Panel = { ...structuredClone(panel), id: newId(), layout: { ...panel.layout, y: panel.layout.y + panel.layout.h } };
      changePanels((panels) => {
        const at = panels.findIndex((p) => p.id === panel.id);
        return [...panels.slice(0, at + 1), copy, ...panels.slice(at + 1)];
      });
    } else if (action === "remove") {
      if (!window.confirm(`Remove the panel “${panel.title || panel.type}”?`)) return;
      setEditing(true);
      changePanels((panels) => panels.filter((p) => p.id !== panel.id));
    }
  };

  const applyPanel = (panel: Panel, isNew: boolean) => {
    setDialog(null);
    changePanels((panels) => (isNew ? [...panels, panel] : panels.map((p) => (p.id === panel.id ? panel : p))));
  };

  const save = async (overwrite = false) => {
    if (!doc || !stored) return;
    setSaving(true);
    setMessage(null);
    try {
      const saved = await dash.saveDashboard(org, id, tidy(doc), overwrite ? undefined : stored.hash);
      setStored(saved);
      setDoc(structuredClone(saved.v8));
      setDirty(false);
      setEditing(false);
      setDialog(null);
      setMessage({ text: "Saved" });
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) setDialog({ kind: "conflict" });
      else setMessage({ error: true, text: e instanceof Error ? e.message : String(e) });
    } finally {
      setSaving(false);
    }
  };

  const discard = () => {
    if (dirty && !window.confirm("Discard your changes?")) return;
    if (stored) {
      setDoc(structuredClone(stored.v8));
      setDirty(false);
      // Rows collapsed or expanded while editing go back to how they were saved.
      setCollapsed(savedCollapsed(stored.v8));
    }
    setEditing(false);
  };

  if (loadError) {
    return (
      <div className="dash-page">
        <p className="error" role="alert">
          {loadError}
        </p>
        <a href={`/dashboards?org=${encodeURIComponent(org)}`} onClick={(e) => (e.preventDefault(), navigate(`/dashboards?org=${encodeURIComponent(org)}`))}>
          All dashboards
        </a>
      </div>
    );
  }
  if (!doc || !stored) return <div className="loading">Loading dashboard…</div>;

  const renderPanel = (panel: Panel, dragStart?: (e: ReactPointerEvent) => void) => {
    if (panel.type === "row") {
      const isCollapsed = collapsed.has(panel.id);
      return (
        <div className="dash-row" data-testid="row" onPointerDown={dragStart}>
          <button type="button" className="row-toggle" aria-expanded={!isCollapsed} onClick={() => toggleRow(panel)}>
            {isCollapsed ? "▸" : "▾"} {ctx ? titleText(panel.title, ctx.vars) : panel.title}
          </button>
          {editing && (
            <>
              <button type="button" className="icon-button" aria-label={`Rename row ${panel.title}`} onClick={() => setDialog({ kind: "panel", panel, isNew: false })}>
                ✎
              </button>
              <button type="button" className="icon-button" aria-label={`Remove row ${panel.title}`} onClick={() => changePanels((ps) => ps.filter((p) => p.id !== panel.id))}>
                ✕
              </button>
            </>
          )}
        </div>
      );
    }
    if (!ctx) return <section className="dash-panel" />;
    return <PanelView panel={panel} ctx={ctx} canEdit={mayEdit} onAction={onAction} onDragStart={dragStart} />;
  };

  // `viewPanel=<id>`: one panel over the whole viewport (any tab's), like Grafana's.
  const viewPanel = params.get("viewPanel");
  const fullScreen = viewPanel ? (tab?.panels.find((p) => p.id === viewPanel) ?? tabs.flatMap((t) => t.panels).find((p) => p.id === viewPanel)) : undefined;

  const listUrl = `/dashboards?org=${encodeURIComponent(org)}&folder=${encodeURIComponent(stored.folder_id)}`;

  return (
    <div className="dash-page" data-testid="dashboard">
      <div className="toolbar dash-toolbar">
        <a
          className="muted"
          href={listUrl}
          onClick={(e) => {
            e.preventDefault();
            navigate(listUrl);
          }}
        >
          {stored.folder_name}
        </a>
        <span className="muted">/</span>
        <h2 className="dash-title" title={doc.description}>
          {doc.title}
        </h2>
        {dirty && <span className="muted small">(unsaved)</span>}
        <span className="spacer" />
        <TimeRangePicker range={{ from, to }} onChange={(r) => update({ from: r.from, to: r.to })} />
        <button
          type="button"
          aria-label="Refresh"
          title="Refresh"
          onClick={() => {
            dash.clearCache();
            setTick((n) => n + 1);
          }}
        >
          ⟳
        </button>
        <select aria-label="Auto-refresh" value={refresh} onChange={(e) => update({ refresh: e.target.value }, true)}>
          {[...new Set([...REFRESH_CHOICES, refresh])].map((c) => (
            <option key={c} value={c}>
              {c === "off" ? "Auto-refresh off" : `Every ${c}`}
            </option>
          ))}
        </select>
        {mayEdit && !editing && (
          <button type="button" onClick={() => setEditing(true)}>
            Edit
          </button>
        )}
        {builtin && canEdit && (
          <button type="button" onClick={() => setDialog({ kind: "copy" })}>
            Save a copy
          </button>
        )}
        <button type="button" onClick={() => (({ name, text }) => download(name, text))(exportFile(doc))}>
          Export
        </button>
      </div>
      {editing && (
        <div className="toolbar edit-toolbar" role="toolbar" aria-label="Edit dashboard">
          <button type="button" onClick={addPanel}>
            Add panel
          </button>
          <button type="button" onClick={addRow}>
            Add row
          </button>
          <button type="button" onClick={() => setDialog({ kind: "variables" })}>
            Variables
          </button>
          <button type="button" onClick={() => setDialog({ kind: "settings" })}>
            Settings
          </button>
          <span className="muted small">Drag a panel by its title, resize it by its corner.</span>
          <span className="spacer" />
          <button type="button" onClick={discard}>
            Exit edit
          </button>
          <button type="button" className="primary" disabled={!dirty || saving} onClick={() => save()}>
            {saving ? "Saving…" : "Save"}
          </button>
        </div>
      )}
      {message && (
        <p className={message.error ? "error dash-message" : "ok dash-message"} role={message.error ? "alert" : "status"}>
          {message.text}
        </p>
      )}
      {rangeError && <p className="error dash-message">{rangeError}</p>}
      {view && <VariableBar states={view.states} loading={varsLoading} onChange={(name, values) => update({ [`var-${name}`]: values })} />}
      {tabs.length > 1 && (
        <div className="tabs dash-tabs" role="tablist">
          {tabs.map((t) => (
            <button key={t.tabId} type="button" role="tab" aria-selected={t.tabId === tab?.tabId} onClick={() => update({ tab: t.tabId })}>
              {t.name}
            </button>
          ))}
        </div>
      )}
      <div className="dash-body">
        {!view &&
          (varsError ? (
            <p className="error empty" role="alert" data-testid="variables-error">
              {varsError}
            </p>
          ) : (
            <p className="muted empty">Loading variables…</p>
          ))}
        {tab && view && !fullScreen && (
          <Grid panels={tab.panels} collapsed={collapsed} editing={editing} onLayout={onLayout} render={renderPanel} />
        )}
        {tab && !tab.panels.length && <p className="muted empty">This dashboard has no panels yet{mayEdit ? ": Edit, then Add panel." : "."}</p>}
      </div>

      {dialog?.kind === "panel" && (
        <PanelEditor panel={dialog.panel} ctx={ctx} onCancel={() => setDialog(null)} onApply={(p) => applyPanel(p, dialog.isNew)} />
      )}
      {dialog?.kind === "variables" && (
        <VariablesEditor
          variables={defs}
          onCancel={() => setDialog(null)}
          onApply={(list) => {
            setDialog(null);
            change({ ...doc, variables: { showDynamicFilters: false, ...doc.variables, list } });
          }}
        />
      )}
      {dialog?.kind === "settings" && (
        <SettingsDialog
          dashboard={doc}
          onCancel={() => setDialog(null)}
          onApply={(next) => {
            setDialog(null);
            change(next);
          }}
        />
      )}
      {dialog?.kind === "conflict" && (
        <Modal title="Someone else saved this dashboard" onClose={() => setDialog(null)}>
          <p>This dashboard was changed and saved by someone else since you opened it.</p>
          <p className="muted">Reload to see their version (your changes are lost), or overwrite it with yours (theirs are lost).</p>
          <div className="modal-actions">
            <button type="button" onClick={() => setDialog(null)}>
              Cancel
            </button>
            <button type="button" onClick={() => (setDialog(null), load())}>
              Reload
            </button>
            <button type="button" className="primary" onClick={() => save(true)}>
              Overwrite
            </button>
          </div>
        </Modal>
      )}
      {dialog?.kind === "copy" && <SaveCopyDialog org={org} doc={doc} onClose={() => setDialog(null)} />}
      {fullScreen && ctx && (
        <FullScreen
          title={titleText(fullScreen.title || fullScreen.type, ctx.vars)}
          tools={<TimeRangePicker range={{ from, to }} onChange={(r) => update({ from: r.from, to: r.to })} />}
          onClose={() => update({ viewPanel: null })}
        >
          <PanelView panel={fullScreen} ctx={ctx} canEdit={false} eager />
        </FullScreen>
      )}
    </div>
  );
}

/** A panel over the whole viewport, below a bar of `tools`; Escape or the button closes it. */
function FullScreen({ title, tools, children, onClose }: { title: string; tools: React.ReactNode; children: React.ReactNode; onClose: () => void }) {
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    // Not while a popover (time range, panel menu) is open: Escape is theirs then.
    const key = (e: KeyboardEvent) => e.key === "Escape" && !e.defaultPrevented && !document.querySelector(".panel-fullscreen .popover") && close.current();
    window.addEventListener("keydown", key);
    return () => window.removeEventListener("keydown", key);
  }, []);
  return (
    <div className="panel-fullscreen" role="dialog" aria-modal="true" aria-label={title} data-testid="fullscreen">
      <div className="toolbar fullscreen-bar">
        <strong>{title}</strong>
        <span className="spacer" />
        {tools}
        <button type="button" aria-label="Exit full screen" title="Exit full screen (Esc)" onClick={onClose}>
          ✕ Exit full screen
        </button>
      </div>
      <div className="fullscreen-body">{children}</div>
    </div>
  );
}

/** Saves a copy (of a built-in dashboard, say) in a folder and opens it. */
export function SaveCopyDialog({ org, doc, onClose }: { org: string; doc: Dashboard; onClose: () => void }) {
  const [folders, setFolders] = useState<Folder[]>([]);
  const [folder, setFolder] = useState("default");
  const [title, setTitle] = useState(`${doc.title} (copy)`);
  const [error, setError] = useState("");
  useEffect(() => {
    dash.listFolders(org).then((list) => setFolders(list.filter((f) => f.folderId !== BUILTIN_FOLDER)), (e) => setError(String(e.message ?? e)));
  }, [org]);
  const copy = async () => {
    try {
      const { dashboardId: _id, owner: _owner, created: _created, ...rest } = doc;
      const saved = await dash.createDashboard(org, folder, { ...rest, title: title.trim() });
      onClose();
      navigate(`/dashboards/view?org=${encodeURIComponent(org)}&dashboard=${encodeURIComponent(saved.v8.dashboardId ?? "")}`);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <Modal title="Save a copy" onClose={onClose}>
      <div className="form">
        <label className="stacked">
          Title
          <input aria-label="Copy title" value={title} onChange={(e) => setTitle(e.target.value)} />
        </label>
        <label className="stacked">
          Folder
          <select aria-label="Copy folder" value={folder} onChange={(e) => setFolder(e.target.value)}>
            {folders.map((f) => (
              <option key={f.folderId} value={f.folderId}>
                {f.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ModalActions error={error} onCancel={onClose} label="Save copy" disabled={!title.trim()} onConfirm={copy} />
    </Modal>
  );
}

