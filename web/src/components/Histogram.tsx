// Hits over time, as bars; dragging across the chart zooms the time range to the selection.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import { axisTimeLabels, formatTime } from "../time";

export interface HistogramProps {
  buckets: { time: number; count: number }[]; // time in µs
  bucketMicros: number;
  range: [number, number]; // µs
  onZoom: (start: number, end: number) => void;
}

export function Histogram({ buckets, bucketMicros, range, onZoom }: HistogramProps) {
  const container = useRef<HTMLDivElement>(null);
  const zoom = useRef(onZoom);
  zoom.current = onZoom;

  useEffect(() => {
    const element = container.current;
    if (!element) return;
    // Every bucket of the range, zeros included, so gaps show as gaps.
    const counts = new Map(buckets.map((b) => [b.time, b.count]));
    const first = Math.floor(range[0] / bucketMicros) * bucketMicros;
    const xs: number[] = [];
    const ys: number[] = [];
    for (let t = first; t < range[1] && xs.length < 2000; t += bucketMicros) {
      xs.push(t / 1e6);
      ys.push(counts.get(t) ?? 0);
    }
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 200),
      height: 120,
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
      select: { show: true, left: 0, top: 0, width: 0, height: 0 },
      scales: { x: { time: true, range: [range[0] / 1e6, range[1] / 1e6] }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      axes: [
        // Labels that always carry hours and minutes ("10:00:30", never ":30").
        { stroke: "#667", grid: { stroke: "#eee" }, size: 28, space: 64, values: (_u, splits, _axis, _space, increment) => axisTimeLabels(splits, increment) },
        { stroke: "#667", grid: { stroke: "#eee" }, size: 44, values: (_u, splits) => splits.map((v) => (v >= 1000 ? `${v / 1000}k` : String(v))) },
      ],
      series: [
        {},
        {
          label: "hits",
          stroke: "#2f6fde",
          fill: "rgba(47,111,222,0.55)",
          width: 0,
          paths: uPlot.paths.bars ? uPlot.paths.bars({ size: [0.9, 40], align: 1 }) : undefined,
          points: { show: false },
        },
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
      },
    };
    const plot = new uPlot(options, [xs, ys], element);
    const title = element.querySelector(".u-over") as HTMLElement | null;
    if (title) title.title = "Drag to zoom into a time range";
    const observer = new ResizeObserver(() => plot.setSize({ width: Math.max(element.clientWidth, 200), height: 120 }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [buckets, bucketMicros, range]);

  const nonEmpty = buckets.filter((b) => b.count > 0 && b.time >= range[0] - bucketMicros && b.time < range[1]).length;
  return (
    <div className="histogram" data-testid="histogram" data-nonempty-buckets={nonEmpty} aria-label={`Histogram from ${formatTime(range[0])} to ${formatTime(range[1])}`}>
      <div ref={container} />
    </div>
  );
}
