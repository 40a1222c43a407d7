// Time ranges as the URL holds them: relative (`now-15m` … `now`) or absolute (epoch µs).

export interface TimeRange {
  from: string; // "now-15m" or µs since the epoch
  to: string; // "now" or µs
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

export const QUICK_RANGES: { label: string; from: string }[] = [
  { label: "Last 5 minutes", from: "now-5m" },
  { label: "Last 15 minutes", from: "now-15m" },
  { label: "Last 1 hour", from: "now-1h" },
  { label: "Last 4 hours", from: "now-4h" },
  { label: "Last 12 hours", from: "now-12h" },
  { label: "Last 24 hours", from: "now-24h" },
  { label: "Last 7 days", from: "now-7d" },
  { label: "Last 30 days", from: "now-30d" },
];

/** µs for one end of a range, relative to `nowMicros`; undefined when the text is invalid. */
export function resolve(text: string, nowMicros: number): number | undefined {
  const trimmed = text.trim();
  if (trimmed === "now") return nowMicros;
  const relative = /^now-(\d+)([smhdw])$/.exec(trimmed);
  if (relative) return nowMicros - Number(relative[1]) * UNITS[relative[2]] * 1_000_000;
  if (/^\d{10,17}$/.test(trimmed)) return Number(trimmed);
  return undefined;
}

export function resolveRange(range: TimeRange, nowMicros = Date.now() * 1000): [number, number] | undefined {
  const start = resolve(range.from, nowMicros);
  const end = resolve(range.to, nowMicros);
  if (start === undefined || end === undefined || start >= end) return undefined;
  return [start, end];
}

export function describeRange(range: TimeRange): string {
  const quick = QUICK_RANGES.find((q) => q.from === range.from && range.to === "now");
  if (quick) return quick.label;
  const relative = /^now-(\d+)([smhdw])$/.exec(range.from);
  if (relative && range.to === "now") {
    const names: Record<string, string> = { s: "seconds", m: "minutes", h: "hours", d: "days", w: "weeks" };
    return `Last ${relative[1]} ${names[relative[2]]}`;
  }
  const show = (t: string) => (resolve(t, 0) !== undefined && t !== "now" && !t.startsWith("now") ? formatTime(Number(t)) : t);
  return `${show(range.from)} → ${show(range.to)}`;
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** `2026-11-22 06:40:01.123` in local time. */
export function formatTime(micros: number): string {
  const date = new Date(Math.floor(micros / 1000));
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`
  );
}

/** Value for an `<input type="datetime-local">`. */
export function toLocalInput(micros: number): string {
  const date = new Date(Math.floor(micros / 1000));
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

export function fromLocalInput(value: string): number | undefined {
  const millis = new Date(value).getTime();
  return Number.isNaN(millis) ? undefined : millis * 1000;
}

const NICE_SECONDS = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200, 86400, 604800];

/** A histogram bucket size (seconds) giving at most ~80 buckets over the range. */
export function bucketSeconds(startMicros: number, endMicros: number): number {
  const span = (endMicros - startMicros) / 1_000_000;
  return NICE_SECONDS.find((s) => span / s <= 80) ?? 604800;
}

export const REFRESH_CHOICES = ["off", "5s", "10s", "30s", "1m", "5m"];

export function refreshMillis(choice: string): number | undefined {
  const match = /^(\d+)([sm])$/.exec(choice);
  if (!match) return undefined;
  return Number(match[1]) * (match[2] === "m" ? 60_000 : 1000);
}

/**
 * Labels of a time axis (uPlot `values`): `splits` in seconds, `incrementSeconds` the distance
 * between ticks. Sub-minute ticks show seconds ("10:00:30"), sub-day ticks minutes ("10:05"),
 * longer ones the date; a tick where the day changes (and the first one of a range longer than a
 * day) carries the date too — midnight shows the date alone — so no label is ambiguous (":30"
 * alone never appears).
 */
export function axisTimeLabels(splits: number[], incrementSeconds: number): string[] {
  const spansDays = splits.length > 1 && splits[splits.length - 1] - splits[0] >= 86400;
  let previousDay = "";
  return splits.map((seconds, index) => {
    const date = new Date(seconds * 1000);
    const day = `${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
    const hm = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
    const clock = incrementSeconds < 60 || date.getSeconds() !== 0 ? `${hm}:${pad(date.getSeconds())}` : hm;
    const dayChanged = previousDay !== "" && day !== previousDay;
    previousDay = day;
    if (incrementSeconds >= 86400) return day;
    const midnight = date.getHours() === 0 && date.getMinutes() === 0 && date.getSeconds() === 0;
    if (dayChanged && midnight) return day;
    if (dayChanged || (index === 0 && spansDays)) return `${day} ${clock}`;
    return clock;
  });
}
