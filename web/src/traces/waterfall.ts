// Layout of a trace's waterfall: spans in tree order (children under their parent, by start
// time), their depth, offsets relative to the trace, and the critical path.

export interface SpanRow {
  trace_id: string;
  span_id: string;
  reference_parent_span_id?: string;
  operation_name: string;
  service_name: string;
  span_kind?: string;
  span_status?: string;
  status_message?: string;
  start_time: number; // ns
  end_time: number; // ns
  duration: number; // µs
  events?: string;
  links?: string;
  [field: string]: unknown;
}

export interface LaidOutSpan {
  span: SpanRow;
  depth: number;
  /** Offset from the trace's start and length, as fractions of the trace's duration. */
  offset: number;
  width: number;
  critical: boolean;
  hasChildren: boolean;
}

export interface Layout {
  rows: LaidOutSpan[];
  start: number; // ns
  end: number; // ns
}

function childrenByParent(spans: SpanRow[]): Map<string, SpanRow[]> {
  const ids = new Set(spans.map((s) => s.span_id));
  const children = new Map<string, SpanRow[]>();
  for (const span of spans) {
    const parent = span.reference_parent_span_id && ids.has(span.reference_parent_span_id) ? span.reference_parent_span_id : "";
    const list = children.get(parent) ?? [];
    list.push(span);
    children.set(parent, list);
  }
  for (const list of children.values()) list.sort((a, b) => a.start_time - b.start_time || a.span_id.localeCompare(b.span_id));
  return children;
}

/**
 * The critical path: from each root, the child that finished last, then (walking back in time)
 * the children that finished before the previous one started, recursively. Returns span ids.
 */
export function criticalPath(spans: SpanRow[]): Set<string> {
  const children = childrenByParent(spans);
  const onPath = new Set<string>();
  const visit = (span: SpanRow, until: number) => {
    onPath.add(span.span_id);
    let cursor = Math.min(until, span.end_time);
    const kids = [...(children.get(span.span_id) ?? [])].sort((a, b) => b.end_time - a.end_time);
    for (const kid of kids) {
      if (kid.start_time >= cursor) continue;
      visit(kid, cursor);
      cursor = kid.start_time;
    }
  };
  const roots = children.get("") ?? [];
  for (const root of roots) visit(root, root.end_time);
  return onPath;
}

export function layout(spans: SpanRow[]): Layout {
  if (spans.length === 0) return { rows: [], start: 0, end: 0 };
  const start = Math.min(...spans.map((s) => s.start_time));
  const end = Math.max(...spans.map((s) => s.end_time));
  const total = Math.max(1, end - start);
  const children = childrenByParent(spans);
  const critical = criticalPath(spans);
  const rows: LaidOutSpan[] = [];
  const seen = new Set<string>();
  const walk = (span: SpanRow, depth: number) => {
    if (seen.has(span.span_id)) return; // a malformed trace with a cycle
    seen.add(span.span_id);
    const kids = children.get(span.span_id) ?? [];
    rows.push({
      span,
      depth,
      offset: (span.start_time - start) / total,
      width: Math.max(0, span.end_time - span.start_time) / total,
      critical: critical.has(span.span_id),
      hasChildren: kids.length > 0,
    });
    for (const kid of kids) walk(kid, depth + 1);
  };
  for (const root of children.get("") ?? []) walk(root, 0);
  // Spans only reachable through a cycle still show, at the top level.
  for (const span of spans) if (!seen.has(span.span_id)) walk(span, 0);
  return { rows, start, end };
}

/** A duration in µs as people read it. */
export function formatDuration(micros: number): string {
  if (micros < 1000) return `${Math.round(micros)} µs`;
  if (micros < 1_000_000) return `${(micros / 1000).toFixed(micros < 10_000 ? 2 : 1)} ms`;
  return `${(micros / 1_000_000).toFixed(2)} s`;
}

/** Columns that describe the span itself, not its attributes. */
export const SPAN_COLUMNS = new Set([
  "_timestamp",
  "trace_id",
  "span_id",
  "reference_parent_span_id",
  "span_kind",
  "span_status",
  "status_message",
  "operation_name",
  "service_name",
  "start_time",
  "end_time",
  "duration",
  "trace_state",
  "flags",
  "events",
  "links",
]);
