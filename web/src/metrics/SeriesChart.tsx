// A range query's series as lines (uPlot, which draws hundreds of thousands of points without
// trouble): a legend of series names (a click shows only that series, another click all), the
// values at the cursor in a tooltip, and dragging across the chart zooms the time range.
import { useEffect, useMemo, useRef, useState } from "react";
import uPlot from "uplot";
import { axisTimeLabels, formatTime } from "../time";
import { alignSeries, formatValue } from "./chartData";
import type { MatrixSeries } from "./promApi";
import { seriesName } from "./promql";
import type { RangeWindow } from "./step";

// Grafana's classic palette.
const COLORS = ["#7eb26d", "#eab839", "#6ed0e0", "#ef843c", "#e24d42", "#1f78c1", "#ba43a9", "#705da0", "#508642", "#cca300", "#447ebc", "#c15c17"];
const HEIGHT = 300;
const TOOLTIP_ROWS = 10;

const colorOf = (index: number) => COLORS[index % COLORS.length];

interface Hover {
  index: number; // into the step grid
  left: number; // px, in the chart's box
  top: number;
}

export interface SeriesChartProps {
  series: MatrixSeries[];
  grid: RangeWindow; // the range query's start, end and step
  range: [number, number]; // µs
  onZoom: (start: number, end: number) => void;
}

export function SeriesChart({ series, grid, range, onZoom }: SeriesChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const zoom = useRef(onZoom);
  zoom.current = onZoom;
  const [isolated, setIsolated] = useState<number | null>(null);
  const [hover, setHover] = useState<Hover | null>(null);
  const names = useMemo(() => series.map((s) => seriesName(s.metric)), [series]);
  const data = useMemo(() => alignSeries(series, grid), [series, grid]);

  useEffect(() => setIsolated(null), [series]);

  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 200),
      height: HEIGHT,
      legend: { show: false },
      // No focus dimming of the other series: it redraws them all on every cursor move (75 ms a
      // move with 200 series of 3,600 points).
      cursor: { drag: { x: true, y: false, setScale: false } },
      select: { show: true, left: 0, top: 0, width: 0, height: 0 },
      scales: { x: { time: true, range: [range[0] / 1e6, range[1] / 1e6] } },
      axes: [
        { stroke: "#667", grid: { stroke: "#eee" }, space: 64, values: (_u, splits, _axis, _space, increment) => axisTimeLabels(splits, increment) },
        { stroke: "#667", grid: { stroke: "#eee" }, size: 64, values: (_u, splits) => splits.map(formatValue) },
      ],
      series: [
        {},
        ...names.map((name, index) => ({
          label: name,
          stroke: colorOf(index),
          width: 1.5,
          show: isolated === null || isolated === index,
        })),
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 3) return;
            const start = u.posToVal(u.select.left, "x");
            const end = u.posToVal(u.select.left + u.select.width, "x");
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            zoom.current(Math.round(start * 1e6), Math.round(end * 1e6));
          },
        ],
        setCursor: [
          (u) => {
            const { idx, left, top } = u.cursor;
            const inside = idx !== null && idx !== undefined && left !== undefined && top !== undefined && left >= 0;
            setHover(inside ? { index: idx, left: left + u.over.offsetLeft, top: top + u.over.offsetTop } : null);
          },
        ],
      },
    };
    const plot = new uPlot(options, [data.xs, ...data.columns], element);
    const observer = new ResizeObserver(() => plot.setSize({ width: Math.max(element.clientWidth, 200), height: HEIGHT }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [data, names, range, isolated]);

  // Memoised so that moving the cursor re-renders only the tooltip.
  const legend = useMemo(
    () => (
      <ul className="chart-legend" aria-label="Legend">
        {names.map((name, index) => (
          <li key={name}>
            <button
              type="button"
              className={isolated !== null && isolated !== index ? "legend-item hidden" : "legend-item"}
              aria-pressed={isolated === index}
              title={isolated === index ? "Show every series" : "Show only this series"}
              onClick={() => setIsolated(isolated === index ? null : index)}
            >
              <span className="swatch" style={{ background: colorOf(index) }} />
              {name}
            </button>
          </li>
        ))}
      </ul>
    ),
    [names, isolated],
  );

  const rows = hover
    ? data.columns
        .map((column, index) => ({ index, value: column[hover.index] }))
        .filter((row): row is { index: number; value: number } => row.value !== null && (isolated === null || isolated === row.index))
        .sort((a, b) => b.value - a.value)
    : [];
  const flip = hover !== null && hover.left > (container.current?.clientWidth ?? 0) * 0.6;

  return (
    <div className="series-chart" data-testid="series-chart" data-series={names.length} data-points={data.xs.length}>
      <div className="chart-box">
        <div ref={container} />
        {hover && rows.length > 0 && (
          <div className={flip ? "chart-tooltip flip" : "chart-tooltip"} role="tooltip" style={{ left: hover.left, top: hover.top }}>
            <div className="muted">{formatTime(data.xs[hover.index] * 1e6)}</div>
            {rows.slice(0, TOOLTIP_ROWS).map((row) => (
              <div key={row.index} className="tooltip-row">
                <span className="swatch" style={{ background: colorOf(row.index) }} />
                <span className="tooltip-name">{names[row.index]}</span>
                <span className="tooltip-value">{formatValue(row.value)}</span>
              </div>
            ))}
            {rows.length > TOOLTIP_ROWS && <div className="muted">{rows.length - TOOLTIP_ROWS} more</div>}
          </div>
        )}
      </div>
      {legend}
    </div>
  );
}
