// A range query's series as uPlot columns: the step grid as x, one column per series, and
// sample values as numbers.
import type { MatrixSeries } from "./promApi";
import type { RangeWindow } from "./step";

/** A sample value as a number; null for NaN and ±Inf, which a line cannot show. */
export function sampleNumber(value: string): number | null {
  const number = Number(value);
  return Number.isFinite(number) ? number : null;
}

/** The step grid (seconds) and each series' values on it, null where it has no sample. */
export function alignSeries(series: MatrixSeries[], grid: RangeWindow): { xs: number[]; columns: (number | null)[][] } {
  const count = Math.floor((grid.end - grid.start) / grid.step) + 1;
  const xs = Array.from({ length: count }, (_, index) => grid.start + index * grid.step);
  const columns = series.map((s) => {
    const column: (number | null)[] = new Array(count).fill(null);
    for (const [time, value] of s.values) {
      const index = Math.round((time - grid.start) / grid.step);
      if (index >= 0 && index < count) column[index] = sampleNumber(value);
    }
    return column;
  });
  return { xs, columns };
}

/** A sample value for a table, as sent but without binary floating-point noise: 15 significant
 * digits, so a rate of 0.9999999999999998 reads 1 (no double has more than 15 reliable digits);
 * NaN and ±Inf as sent. */
export function exactValue(value: string): string {
  const number = Number(value);
  return Number.isFinite(number) ? String(Number(number.toPrecision(15))) : value;
}

/** A value for the axis and the tooltip: at most 6 significant digits. */
export function formatValue(value: number): string {
  return Math.abs(value) >= 1e6 || (value !== 0 && Math.abs(value) < 1e-4) ? value.toExponential(3) : String(Number(value.toPrecision(6)));
}
