// One panel: its title (variables substituted), description, menu (View, Explore, Edit,
// Duplicate, Remove), and its data — fetched once the panel is in or near the viewport, again
// when the range, the variables or the panel change (the previous requests aborted), and shown
// by type with loading, error, "No data" and series-cap states.
import { type PointerEvent as ReactPointerEvent, useEffect, useMemo, useRef, useState } from "react";
import { DEFAULT_METRICS_STATE, serializeMetricsState } from "../metrics/state";
import { streamOfSql } from "../query";
import { navigate } from "../router";
import { DEFAULT_STATE, serializeLogsState } from "../state";
import { seriesCategories } from "./frames";
import { hiddenSeries, isInstant, MAX_SERIES, type PanelData, planKey, planPanel, runPanel, titleText } from "./queries";
import type { Panel } from "./types";
import { CONTENT_TYPES, UNSUPPORTED_TYPES } from "./types";
import { UChart } from "./UChart";
import { applyPromqlFilters, applySqlFilters, builtins, type Filter, substitute, type VarState } from "./variables";
import { GaugeView, HtmlView, LogsView, MarkdownView, PieView, statsOf, StatView, TableView } from "./visuals";

export interface DashContext {
  org: string;
  range: [number, number]; // µs
  from: string;
  to: string;
  vars: ReadonlyMap<string, VarState>;
  filters: Filter[];
  syncKey: string;
  refreshKey: number;
  onZoom: (start: number, end: number) => void;
}

export type PanelAction = "view" | "edit" | "duplicate" | "remove";

interface Props {
  panel: Panel;
  ctx: DashContext;
  canEdit: boolean;
  onAction?: (action: PanelAction, panel: Panel) => void;
  onDragStart?: (e: ReactPointerEvent) => void;
  /** Load without waiting to be scrolled into view (full screen, editor preview). */
  eager?: boolean;
}

interface Loaded {
  data?: PanelData;
  error?: string;
  loading: boolean;
}

function isEmpty(panel: Panel, data: PanelData): boolean {
  switch (panel.type) {
    case "table":
      return !data.table?.rows.length;
    case "logs":
      return !data.hits?.length;
    case "heatmap":
      return !data.heatmap?.times.length;
    default:
      return !data.series.length && !data.categories?.series.some((s) => s.values.some((v) => v !== null));
  }
}

/** The metrics explorer or the logs page with a panel's first query, its variables substituted. */
export function exploreUrl(panel: Panel, ctx: DashContext): string | undefined {
  const query = panel.queries?.find((q) => q.query?.trim());
  if (!query) return undefined;
  const built = builtins(ctx.range, (ctx.range[1] - ctx.range[0]) / 1e6 / 1000);
  if (panel.queryType === "promql") {
    const text = applyPromqlFilters(substitute(query.query, ctx.vars, built, "promql"), ctx.filters);
    const view = isInstant(panel, query) ? "table" : "chart";
    return `/metrics-explorer?${serializeMetricsState({ ...DEFAULT_METRICS_STATE, query: text, from: ctx.from, to: ctx.to, view }, ctx.org)}`;
  }
  const sql = applySqlFilters(substitute(query.query, ctx.vars, built, "sql"), ctx.filters);
  return `/logs?${serializeLogsState({ ...DEFAULT_STATE, stream: streamOfSql(sql) ?? "", mode: "sql", query: sql, from: ctx.from, to: ctx.to }, ctx.org)}`;
}

function PanelMenu({ panel, ctx, canEdit, onAction }: Pick<Props, "panel" | "ctx" | "canEdit" | "onAction">) {
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => !box.current?.contains(e.target as Node) && setOpen(false);
    document.addEventListener("mousedown", close);
    return () => document.removeEventListener("mousedown", close);
  }, [open]);
  const explore = exploreUrl(panel, ctx);
  const act = (action: PanelAction) => {
    setOpen(false);
    onAction?.(action, panel);
  };
  return (
    <div className="panel-menu" ref={box}>
      <button type="button" className="icon-button" aria-label={`Menu of ${panel.title || "panel"}`} aria-expanded={open} onClick={() => setOpen(!open)}>
        ⋮
      </button>
      {open && (
        <div className="popover menu" role="menu">
          <button type="button" role="menuitem" onClick={() => act("view")}>
            View
          </button>
          {explore && (
            <button
              type="button"
              role="menuitem"
              onClick={() => {
                setOpen(false);
                navigate(explore);
              }}
            >
              Explore
            </button>
          )}
          {canEdit && (
            <>
              <button type="button" role="menuitem" onClick={() => act("edit")}>
                Edit
              </button>
              <button type="button" role="menuitem" onClick={() => act("duplicate")}>
                Duplicate
              </button>
              <button type="button" role="menuitem" onClick={() => act("remove")}>
                Remove
              </button>
            </>
          )}
        </div>
      )}
    </div>
  );
}

export function PanelView({ panel, ctx, canEdit, onAction, onDragStart, eager }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const [visible, setVisible] = useState(!!eager);
  const [width, setWidth] = useState(0);
  const [loaded, setLoaded] = useState<Loaded>({ loading: false });
  const content = CONTENT_TYPES.has(panel.type) || UNSUPPORTED_TYPES.has(panel.type);

  // Loads only in (or near) the viewport.
  useEffect(() => {
    const element = box.current;
    if (!element || eager) return;
    // The dashboard's scrolling body is the root, so that the margin counts.
    const root = element.closest(".dash-body");
    const observer = new IntersectionObserver((entries) => setVisible(entries.some((e) => e.isIntersecting)), { root, rootMargin: "200px 0px" });
    observer.observe(element);
    return () => observer.disconnect();
  }, [eager]);

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setWidth(Math.max(50, Math.round(element.clientWidth / 50) * 50)));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  const plan = useMemo(
    () => (visible && width && !content ? planPanel(panel, ctx, width) : null),
    [visible, width, content, panel, ctx.range, ctx.vars, ctx.filters], // eslint-disable-line react-hooks/exhaustive-deps
  );
  const key = plan ? `${panel.type}|${JSON.stringify(panel.config?.transformations ?? null)}|${planKey(plan)}|${ctx.refreshKey}` : null;
  const panelRef = useRef(panel);
  panelRef.current = panel;

  useEffect(() => {
    if (!plan || key === null) return;
    if (!plan.length) {
      setLoaded({ loading: false, data: { series: [], total: 0, warnings: [] } });
      return;
    }
    const abort = new AbortController();
    setLoaded((previous) => ({ ...previous, loading: true }));
    runPanel(panelRef.current, plan, ctx.org, abort.signal).then(
      (data) => !abort.signal.aborted && setLoaded({ data, loading: false }),
      (e) => !abort.signal.aborted && setLoaded({ loading: false, error: e instanceof Error ? e.message : String(e) }),
    );
    return () => abort.abort();
  }, [key]); // eslint-disable-line react-hooks/exhaustive-deps

  const title = titleText(panel.title ?? "", ctx.vars);
  const { data, error, loading } = loaded;
  const hidden = data ? hiddenSeries(data) : 0;

  let body: React.ReactNode = null;
  if (UNSUPPORTED_TYPES.has(panel.type)) {
    body = (
      <p className="panel-message" data-testid="unsupported">
        Panels of type “{panel.type}” are not supported by kansoku.
      </p>
    );
  } else if (panel.type === "markdown") {
    body = <MarkdownView text={substitute(String(panel.markdownContent ?? ""), ctx.vars, {}, "text")} />;
  } else if (panel.type === "html") {
    body = <HtmlView html={String(panel.htmlContent ?? "")} title={title} />;
  } else if (error) {
    body = (
      <p className="error panel-message" role="alert" data-testid="panel-error">
        {error}
      </p>
    );
  } else if (!data) {
    body = <p className="muted panel-message">{loading || visible ? "Loading…" : ""}</p>;
  } else if (isEmpty(panel, data)) {
    body = (
      <p className="muted panel-message" data-testid="no-data">
        No data
      </p>
    );
  } else {
    const config = panel.config ?? {};
    switch (panel.type) {
      case "table":
        body = <TableView table={data.table!} config={config} />;
        break;
      case "logs":
        body = <LogsView hits={data.hits!} />;
        break;
      case "metric":
        body = <StatView stats={statsOf(data.series, data.categories)} config={config} />;
        break;
      case "gauge":
        body = <GaugeView stats={statsOf(data.series, data.categories)} config={config} />;
        break;
      case "pie":
      case "donut":
        body = <PieView categories={data.categories ?? seriesCategories(data.series)} config={config} donut={panel.type === "donut"} />;
        break;
      default:
        body = <UChart panel={panel} data={data} range={ctx.range} syncKey={ctx.syncKey} onZoom={ctx.onZoom} />;
    }
  }

  return (
    <section className="dash-panel" ref={box} data-testid="panel" data-panel-id={panel.id} data-panel-type={panel.type} aria-label={title || panel.type}>
      <header className={onDragStart ? "panel-header draggable" : "panel-header"} onPointerDown={onDragStart}>
        <h3 className="panel-title" title={title}>
          {title}
        </h3>
        {panel.description && (
          <span className="panel-info" title={panel.description} data-testid="panel-description" aria-label={panel.description}>
            ⓘ
          </span>
        )}
        {loading && <span className="panel-loading" aria-label="Loading" />}
        {hidden > 0 && (
          <span className="panel-warning" role="status" title={`Only the first ${MAX_SERIES} series are drawn`}>
            ⚠ {hidden} of {data!.total} series hidden
          </span>
        )}
        {data?.warnings.length ? (
          <span className="panel-warning" title={data.warnings.join("\n")}>
            ⚠
          </span>
        ) : null}
        <span className="spacer" />
        <PanelMenu panel={panel} ctx={ctx} canEdit={canEdit} onAction={onAction} />
      </header>
      <div className="panel-body">{body}</div>
    </section>
  );
}
