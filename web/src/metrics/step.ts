// The resolution of range queries: an automatic step from the range and the chart's width (a
// point per pixel at most, rounded up to a round duration, at least 1 s) or a chosen one, and the
// query window aligned to the step, as Grafana does, so that refreshes evaluate at the same times.

export const STEP_CHOICES = ["auto", "1s", "5s", "10s", "15s", "30s", "1m", "2m", "5m", "10m", "15m", "30m", "1h", "3h", "6h", "12h", "1d"];

const ROUND_STEPS = [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800];
const UNITS: [string, number][] = [
  ["w", 604800],
  ["d", 86400],
  ["h", 3600],
  ["m", 60],
  ["s", 1],
];

/** The automatic step in seconds for a range of `rangeSeconds` drawn `widthPixels` wide. */
export function autoStepSeconds(rangeSeconds: number, widthPixels: number): number {
  const perPixel = rangeSeconds / Math.max(widthPixels, 1);
  return ROUND_STEPS.find((step) => step >= perPixel) ?? Math.ceil(perPixel / 604800) * 604800;
}

/** Seconds of a Prometheus duration (`15s`, `1m30s`, `1h`); undefined when it is not one or below 1 s. */
export function parseStep(text: string): number | undefined {
  if (!/^(\d+[wdhms])+$/.test(text)) return undefined;
  let seconds = 0;
  for (const [, count, unit] of text.matchAll(/(\d+)([wdhms])/g)) seconds += Number(count) * UNITS.find(([u]) => u === unit)![1];
  return seconds >= 1 ? seconds : undefined;
}

/** `90` → `1m30s`. */
export function formatStep(seconds: number): string {
  let rest = Math.round(seconds);
  let text = "";
  for (const [unit, size] of UNITS) {
    if (rest >= size) {
      text += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return text || "0s";
}

export interface RangeWindow {
  start: number; // seconds
  end: number;
  step: number;
}

/** The window of a range query over `range` (µs): start and end rounded down to the step. */
export function rangeWindow(range: [number, number], step: number): RangeWindow {
  const align = (micros: number) => Math.floor(micros / 1e6 / step) * step;
  return { start: align(range[0]), end: align(range[1]), step };
}
