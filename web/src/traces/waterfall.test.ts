import { describe, expect, it } from "vitest";
import { criticalPath, formatDuration, layout, type SpanRow } from "./waterfall";

const span = (id: string, parent: string | undefined, start: number, end: number): SpanRow => ({
  trace_id: "t",
  span_id: id,
  reference_parent_span_id: parent,
  operation_name: id,
  service_name: "svc",
  start_time: start,
  end_time: end,
  duration: (end - start) / 1000,
});

describe("waterfall", () => {
  // root 0–100: a 0–30, f 10–15, b 20–90 (c 25–40, d 50–85, g 60–70), e 92–95
  const spans = [
    span("f", "root", 10, 15),
    span("g", "b", 60, 70),
    span("b", "root", 20, 90),
    span("root", undefined, 0, 100),
    span("d", "b", 50, 85),
    span("a", "root", 0, 30),
    span("c", "b", 25, 40),
    span("e", "root", 92, 95),
  ];

  it("orders spans as a tree by start time, with depths and offsets", () => {
    const { rows } = layout(spans);
    expect(rows.map((r) => `${"-".repeat(r.depth)}${r.span.span_id}`)).toEqual(["root", "-a", "-f", "-b", "--c", "--d", "--g", "-e"]);
    const b = rows[3];
    expect(b.offset).toBeCloseTo(0.2);
    expect(b.width).toBeCloseTo(0.7);
    expect(b.hasChildren).toBe(true);
  });

  it("finds the critical path walking back from the end", () => {
    // f runs while a does, g while d does: neither holds the trace up.
    expect([...criticalPath(spans)].sort()).toEqual(["a", "b", "c", "d", "e", "root"]);
  });

  it("keeps orphans and survives cycles", () => {
    const odd = [span("x", "missing", 0, 10), span("p", "q", 0, 5), span("q", "p", 1, 4)];
    const ids = layout(odd).rows.map((r) => r.span.span_id).sort();
    expect(ids).toEqual(["p", "q", "x"]);
  });

  it("formats durations", () => {
    expect(formatDuration(350)).toBe("350 µs");
    expect(formatDuration(3500)).toBe("3.50 ms");
    expect(formatDuration(2_500_000)).toBe("2.50 s");
  });
});
