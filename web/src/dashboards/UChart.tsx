// Every uPlot panel: time series (line, area, stacked area, bars, stacked bars, points), bars of
// categories (vertical, or horizontal through the x scale's orientation), and heatmaps (cells
// painted in a draw hook). Time charts share the dashboard's crosshair (cursor sync) and its
// tooltip: every time series in view shows its values at the hovered time (Grafana's "shared
// tooltip"). A drag across one zooms the dashboard's time range. Threshold steps are drawn as
// dashed lines. Time axes label every tick with hours and minutes (and the date across days).
import { type ReactNode, useEffect, useMemo, useRef, useState } from "react";
import uPlot from "uplot";
import { axisTimeLabels, formatTime } from "../time";
import { alignTimes, type Heatmap } from "./frames";
import type { PanelData } from "./queries";
import type { Panel } from "./types";
import { cssColor, formatUnit, reduce, seriesStyle, type SeriesStyle, type Unit } from "./units";

interface Props {
  panel: Panel;
  data: PanelData;
  range: [number, number]; // µs
  syncKey?: string;
  onZoom?: (start: number, end: number) => void;
}

interface Model {
  mode: "time" | "category" | "heatmap";
  xs: number[];
  columns: (number | null)[][]; // as drawn (stacked: accumulated)
  raw: (number | null)[][]; // as answered
  styles: SeriesStyle[];
  labels: string[];
  heat?: Heatmap;
}

const TOOLTIP_ROWS = 12;

/** A CSS colour with an alpha (hex colours; others as they are). */
function alpha(color: string, a: number): string {
  const hex = /^#([0-9a-f]{6})$/i.exec(color);
  return hex ? `#${hex[1]}${Math.round(a * 255).toString(16).padStart(2, "0")}` : color;
}

/** Heat colour of a fraction 0…1: pale yellow to dark red. */
const heatColor = (f: number) => `hsl(${Math.round(50 - 45 * f)}, 90%, ${Math.round(88 - 50 * f)}%)`;

function buildModel(panel: Panel, data: PanelData): Model {
  const config = panel.config ?? {};
  if (panel.type === "heatmap" && data.heatmap) {
    const heat = data.heatmap;
    return { mode: "heatmap", xs: heat.times, columns: [heat.times.map(() => null)], raw: [], styles: [], labels: heat.buckets, heat };
  }
  const categorical = !!data.categories && (!data.series.length || ["h-bar", "h-stacked", "bar", "stacked"].includes(panel.type));
  let xs: number[];
  let raw: (number | null)[][];
  let names: { name: string; refId: string }[];
  let labels: string[] = [];
  if (categorical) {
    const c = data.categories!;
    labels = c.labels;
    xs = c.labels.map((_, i) => i);
    raw = c.series.map((s) => s.values);
    names = c.series;
  } else {
    const aligned = alignTimes(data.series);
    xs = aligned.xs;
    raw = aligned.columns;
    names = data.series;
  }
  const styles = names.map((s, i) => seriesStyle(s.name, s.refId, i, config));
  const stacked = ["area-stacked", "stacked", "h-stacked"].includes(panel.type) || (config.stacking === "normal" && panel.type !== "scatter");
  let columns = raw;
  if (stacked) {
    const sum = xs.map(() => 0);
    columns = raw.map((column) => column.map((v, i) => (sum[i] += v ?? 0)));
  }
  return { mode: categorical ? "category" : "time", xs, columns, raw, styles, labels };
}

function usePlotSize(element: HTMLDivElement | null) {
  const [size, setSize] = useState({ width: 0, height: 0 });
  useEffect(() => {
    if (!element) return;
    const update = () => setSize({ width: Math.floor(element.clientWidth), height: Math.floor(element.clientHeight) });
    update();
    const observer = new ResizeObserver(update);
    observer.observe(element);
    return () => observer.disconnect();
  }, [element]);
  return size;
}

interface Hover {
  index: number;
  left: number;
  top: number;
  bucket?: number;
  /** Shown because another panel is hovered (cursor sync). */
  synced?: boolean;
}

export function UChart({ panel, data, range, syncKey, onZoom }: Props) {
  const config = panel.config ?? {};
  const [host, setHost] = useState<HTMLDivElement | null>(null);
  const size = usePlotSize(host);
  const plotRef = useRef<uPlot | null>(null);
  const active = useRef(false);
  const zoom = useRef(onZoom);
  zoom.current = onZoom;
  const [isolated, setIsolated] = useState<number | null>(null);
  const [hover, setHover] = useState<Hover | null>(null);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const model = useMemo(() => buildModel(panel, data), [panel.type, panel.config, data]);
  const axisUnit: Unit = model.styles[0]?.unit ?? { unit: "numbers", decimals: config.decimals };
  const horizontal = model.mode === "category" && (panel.type === "h-bar" || panel.type === "h-stacked");

  useEffect(() => setIsolated(null), [model]);

  useEffect(() => {
    if (!host || size.width < 20 || size.height < 20) return;
    const { mode, xs, columns, styles, labels, heat } = model;
    const type = panel.type;
    const bars = mode === "category" || type === "bar" || type === "stacked";
    const stackedBars = bars && (type === "stacked" || type === "h-stacked");
    const stackedArea = type === "area-stacked" || (config.stacking === "normal" && !bars && type !== "scatter");
    const fmt = (v: number) => formatUnit(v, axisUnit);
    // Stacked bars are drawn tallest first so that each shorter one covers its part.
    const order = styles.map((_, i) => i);
    if (stackedBars) order.reverse();
    const barWidth = (i: number) => (stackedBars || styles.length < 2 ? 0.7 : 0.8 * (1 - (0.6 * i) / styles.length));
    const series: uPlot.Series[] = [
      {},
      ...(mode === "heatmap"
        ? [{ label: "cells", paths: () => null, points: { show: false } } as uPlot.Series]
        : order.map((i): uPlot.Series => {
            const style = styles[i];
            const s: uPlot.Series = {
              label: style.name,
              stroke: style.color,
              width: bars ? 0 : 1.5,
              show: isolated === null || isolated === i,
              dash: style.dashed ? [8, 6] : undefined,
              spanGaps: false,
            };
            if (bars) {
              s.fill = stackedBars ? style.color : alpha(style.color, styles.length > 1 ? 0.75 : 0.85);
              s.paths = uPlot.paths.bars!({ size: [barWidth(i), 80], align: 0 });
              s.points = { show: false };
            } else if (type === "scatter") {
              s.paths = () => null;
              s.points = { show: true, size: 5, fill: style.color, stroke: style.color };
            } else {
              if (type === "area" || stackedArea) s.fill = alpha(style.color, stackedArea ? 0.55 : 0.2);
              s.points = { show: false };
            }
            return s;
          })),
    ];
    const plotData = [xs, ...(mode === "heatmap" ? columns : order.map((i) => columns[i]))] as uPlot.AlignedData;
    const bands: uPlot.Band[] = [];
    if (stackedArea) for (let i = 1; i < styles.length; i++) bands.push({ series: [i + 1, i] });
    const yMin = typeof config.y_axis_min === "number" ? config.y_axis_min : undefined;
    const yMax = typeof config.y_axis_max === "number" ? config.y_axis_max : undefined;
    const yRange: uPlot.Range.Function = (_u, min, max) => {
      const lo = min ?? 0;
      const hi = max ?? 1;
      const auto = uPlot.rangeNum(bars ? Math.min(0, lo) : lo, bars ? Math.max(0, hi) : hi, 0.1, true);
      const out: [number, number] = [yMin ?? auto[0] ?? 0, yMax ?? auto[1] ?? 1];
      if (out[0] >= out[1]) out[1] = out[0] + 1;
      return out;
    };
    const categoryAxis: uPlot.Axis = {
      stroke: "#667",
      grid: { show: false },
      splits: () => {
        const every = Math.ceil(labels.length / (horizontal ? Math.max(1, size.height / 18) : Math.max(1, size.width / 70)));
        return labels.map((_, i) => i).filter((i) => i % every === 0);
      },
      values: (_u, splits) => splits.map((i) => {
        const label = labels[i] ?? "";
        return label.length > 24 ? `${label.slice(0, 23)}…` : label;
      }),
      size: horizontal ? Math.min(180, 16 + 7 * Math.max(4, ...labels.map((l) => Math.min(24, l.length)))) : undefined,
      side: horizontal ? 3 : 2,
    };
    const valueAxis: uPlot.Axis = { stroke: "#667", grid: { stroke: "#eee" }, size: 70, values: (_u, splits) => splits.map(fmt), side: horizontal ? 2 : 3 };
    const heatAxis: uPlot.Axis = {
      stroke: "#667",
      grid: { show: false },
      size: 70,
      splits: () => labels.map((_, i) => i + 0.5).filter((_, i) => i % Math.ceil(labels.length / Math.max(1, size.height / 16)) === 0),
      values: (_u, splits) => splits.map((v) => labels[Math.floor(v)] ?? ""),
    };
    const thresholdLines = (u: uPlot) => {
      const steps = config.thresholds?.steps ?? [];
      if (mode === "heatmap" || horizontal || !steps.some((s) => s.value !== null)) return;
      const [lo, hi] = [u.scales.y.min ?? 0, u.scales.y.max ?? 1];
      const ctx = u.ctx;
      ctx.save();
      ctx.setLineDash([6, 4]);
      ctx.lineWidth = 1.5 * uPlot.pxRatio;
      for (const step of steps) {
        if (step.value === null || step.value === undefined) continue;
        const value = config.thresholds?.mode === "percentage" ? lo + ((hi - lo) * step.value) / 100 : step.value;
        if (value < lo || value > hi) continue;
        const y = Math.round(u.valToPos(value, "y", true)) + 0.5;
        ctx.strokeStyle = cssColor(step.color) ?? "#888";
        ctx.beginPath();
        ctx.moveTo(u.bbox.left, y);
        ctx.lineTo(u.bbox.left + u.bbox.width, y);
        ctx.stroke();
      }
      ctx.restore();
    };
    const paintHeat = (u: uPlot) => {
      if (!heat || !heat.times.length) return;
      const max = Math.max(1e-12, ...heat.counts.flat().map((v) => v ?? 0));
      const step = heat.times.length > 1 ? heat.times[1] - heat.times[0] : 60;
      const ctx = u.ctx;
      ctx.save();
      ctx.beginPath();
      ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
      ctx.clip();
      heat.counts.forEach((row, b) => {
        const y0 = u.valToPos(b + 1, "y", true);
        const y1 = u.valToPos(b, "y", true);
        row.forEach((v, t) => {
          if (v === null || v <= 0) return;
          const x0 = u.valToPos(heat.times[t], "x", true);
          const x1 = u.valToPos((heat.times[t + 1] ?? heat.times[t] + step), "x", true);
          ctx.fillStyle = heatColor(v / max);
          ctx.fillRect(x0, y0, Math.max(1, x1 - x0 - 1), Math.max(1, y1 - y0 - 1));
        });
      });
      ctx.restore();
    };
    const timed = mode !== "category";
    // A point is "at" a synced time within one step of the data (or of the range over 100).
    const nearby = xs.length > 1 ? (xs[xs.length - 1] - xs[0]) / (xs.length - 1) : (range[1] - range[0]) / 1e8;
    const options: uPlot.Options = {
      width: size.width,
      height: size.height,
      legend: { show: false },
      padding: [8, 12, 0, 4],
      cursor: timed
        ? {
            drag: { x: true, y: false, setScale: false },
            // Time only: the other panels' crosshair sits at the same relative height.
            sync: syncKey ? { key: syncKey, scales: ["x", null] } : undefined,
            points: { show: mode === "time" },
          }
        : { drag: { x: false, y: false }, points: { show: false }, y: false },
      select: { show: timed, left: 0, top: 0, width: 0, height: 0 },
      scales: timed
        ? {
            x: { time: true, range: [range[0] / 1e6, range[1] / 1e6] },
            y: mode === "heatmap" ? { time: false, range: [0, Math.max(1, labels.length)] } : { range: yRange },
          }
        : {
            x: { time: false, ori: horizontal ? 1 : 0, dir: horizontal ? -1 : 1, range: [-0.5, Math.max(0.5, xs.length - 0.5)] },
            y: { ori: horizontal ? 0 : 1, range: yRange },
          },
      axes: timed
        ? [
            // Labels that always carry hours and minutes ("10:00:30", never ":30").
            { stroke: "#667", grid: { stroke: "#eee" }, space: 64, values: (_u, splits, _axis, _space, increment) => axisTimeLabels(splits, increment) },
            mode === "heatmap" ? heatAxis : valueAxis,
          ]
        : [categoryAxis, valueAxis],
      series,
      bands,
      hooks: {
        draw: [(u) => (mode === "heatmap" ? paintHeat(u) : thresholdLines(u))],
        setSelect: [
          (u) => {
            if (!timed || u.select.width < 3) return;
            const start = u.posToVal(u.select.left, "x");
            const end = u.posToVal(u.select.left + u.select.width, "x");
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            if (active.current) zoom.current?.(Math.round(start * 1e6), Math.round(end * 1e6));
          },
        ],
        setCursor: [
          (u) => {
            const { idx, left, top } = u.cursor;
            const synced = !active.current;
            // Another panel's cursor: values only where this panel has a point near that time.
            const far = synced && idx !== null && idx !== undefined && left !== undefined && Math.abs(xs[idx] - u.posToVal(left, "x")) > nearby;
            if ((synced && mode !== "time") || far || idx === null || idx === undefined || left === undefined || top === undefined || left < 0) {
              setHover(null);
              return;
            }
            const bucket = mode === "heatmap" ? Math.floor(u.posToVal(top, "y")) : undefined;
            setHover({ index: idx, left: left + u.over.offsetLeft, top: top + u.over.offsetTop, bucket, synced });
          },
        ],
      },
    };
    const plot = new uPlot(options, plotData, host);
    plotRef.current = plot;
    const enter = () => (active.current = true);
    const leave = () => {
      active.current = false;
      setHover(null);
    };
    plot.over.addEventListener("mouseenter", enter);
    plot.over.addEventListener("mouseleave", leave);
    return () => {
      plot.destroy();
      plotRef.current = null;
    };
    // Size changes are applied without rebuilding (below).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [host, model, isolated, range, syncKey, panel.type, config, size.width > 20 && size.height > 20]);

  useEffect(() => {
    if (plotRef.current && size.width > 20 && size.height > 20) plotRef.current.setSize(size);
  }, [size]);

  const calcs = (config.legend_calcs as string[] | undefined)?.filter((c) => typeof c === "string") ?? [];
  const legendItems = useMemo(
    () =>
      model.styles.map((style, index) => ({
        style,
        index,
        calcs: calcs.map((c) => `${c === "lastNotNull" ? "last" : c}: ${formatUnit(reduce(model.raw[index] ?? [], c), style.unit)}`).join("  "),
      })),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [model, calcs.join()],
  );

  let tooltip: ReactNode = null;
  if (hover && model.mode === "heatmap" && model.heat && hover.bucket !== undefined) {
    const count = model.heat.counts[hover.bucket]?.[hover.index];
    tooltip = (
      <>
        <div className="muted">{formatTime((model.xs[hover.index] ?? 0) * 1e6)}</div>
        <div className="tooltip-row">
          <span className="tooltip-name">{model.labels[hover.bucket] ?? ""}</span>
          <span className="tooltip-value">{count === null || count === undefined ? "–" : formatUnit(count, axisUnit)}</span>
        </div>
      </>
    );
  } else if (hover && model.mode !== "heatmap") {
    const rows = model.raw
      .map((column, index) => ({ index, value: column[hover.index] }))
      .filter((r): r is { index: number; value: number } => r.value !== null && r.value !== undefined && (isolated === null || isolated === r.index))
      .sort((a, b) => b.value - a.value);
    if (rows.length) {
      tooltip = (
        <>
          <div className="muted">{model.mode === "time" ? formatTime(model.xs[hover.index] * 1e6) : model.labels[hover.index]}</div>
          {rows.slice(0, TOOLTIP_ROWS).map((row) => (
            <div key={row.index} className="tooltip-row">
              <span className="swatch" style={{ background: model.styles[row.index].color }} />
              <span className="tooltip-name">{model.styles[row.index].name}</span>
              <span className="tooltip-value">{formatUnit(row.value, model.styles[row.index].unit)}</span>
            </div>
          ))}
          {rows.length > TOOLTIP_ROWS && <div className="muted">{rows.length - TOOLTIP_ROWS} more</div>}
        </>
      );
    }
  }
  const showLegend = config.show_legends !== false && model.mode !== "heatmap" && model.styles.length > 0;
  const right = config.legends_position === "right";
  const flip = hover !== null && hover.left > (host?.clientWidth ?? 0) * 0.6;

  return (
    <div
      className={`uchart${right ? " legend-right" : ""}`}
      data-testid="chart"
      data-mode={model.mode}
      data-series={model.mode === "heatmap" ? model.labels.length : model.styles.length}
      data-points={model.xs.length}
    >
      <div className="uchart-plot">
        <div className="uchart-host" ref={setHost} />
        {tooltip && (
          <div
            className={`chart-tooltip${flip ? " flip" : ""}${hover!.synced ? " synced" : ""}`}
            role="tooltip"
            data-synced={hover!.synced || undefined}
            style={{ left: hover!.left, top: hover!.top }}
          >
            {tooltip}
          </div>
        )}
      </div>
      {showLegend && (
        <ul className="chart-legend dash-legend" aria-label="Legend">
          {legendItems.map(({ style, index, calcs: text }) => (
            <li key={index}>
              <button
                type="button"
                className={isolated !== null && isolated !== index ? "legend-item hidden" : "legend-item"}
                aria-pressed={isolated === index}
                onClick={() => setIsolated(isolated === index ? null : index)}
              >
                <span className="swatch" style={{ background: style.color }} />
                {style.name}
                {text && <span className="muted"> {text}</span>}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A small area chart of one series, without axes (stat panels). */
export function Sparkline({ times, values, color }: { times: number[]; values: (number | null)[]; color: string }) {
  const [host, setHost] = useState<HTMLDivElement | null>(null);
  const size = usePlotSize(host);
  useEffect(() => {
    if (!host || size.width < 10 || size.height < 10) return;
    const plot = new uPlot(
      {
        width: size.width,
        height: size.height,
        legend: { show: false },
        cursor: { show: false },
        padding: [2, 0, 0, 0],
        axes: [{ show: false }, { show: false }],
        scales: { x: { time: false } },
        series: [{}, { stroke: color, fill: alpha(color, 0.2), width: 1.5, points: { show: false } }],
      },
      [times, values] as uPlot.AlignedData,
      host,
    );
    return () => plot.destroy();
  }, [host, size, times, values, color]);
  return <div className="sparkline" ref={setHost} />;
}
