import { describe, expect, it } from "vitest";
import { alignTimes, instantTable, legendName, promHeatmap, type Series, sqlCategories, sqlColumns, sqlHeatmap, sqlSeries, timeOf } from "./frames";
import { candidates, exportFile, isGrafana } from "./importing";
import { parseMarkdown } from "./markdown";

const series = (labels: Record<string, string>, value: number, refId = "A", times = [100]): Series => ({
  name: "",
  labels,
  refId,
  times,
  values: times.map(() => value),
});

describe("tables of instant queries", () => {
  it("one query: a row per series with its labels and value", () => {
    const table = instantTable([{ refId: "A", series: [series({ pod: "a" }, 1), series({ pod: "b" }, 2)] }]);
    expect(table.columns).toEqual(["pod", "Value"]);
    expect(table.rows).toEqual([
      { pod: "a", Value: 1 },
      { pod: "b", Value: 2 },
    ]);
  });

  it("merge joins several queries by their labels, organize renames and hides, sortBy sorts", () => {
    // As kubernetes-mixin's CPU quota table: usage, requests and their ratio by pod.
    const frames = [
      { refId: "A", series: [series({ pod: "a" }, 0.5), series({ pod: "b" }, 2)] },
      { refId: "B", series: [series({ pod: "a" }, 1), series({ pod: "b" }, 1)] },
      { refId: "C", series: [series({ pod: "b" }, 2)] },
    ];
    const table = instantTable(frames, [
      { id: "merge", options: {} },
      { id: "organize", options: { excludeByName: { "Value #B": true }, renameByName: { pod: "Pod", "Value #A": "CPU Usage", "Value #C": "Ratio" }, indexByName: { "Value #C": 0 } } },
      { id: "sortBy", options: { sort: [{ field: "CPU Usage", desc: true }] } },
    ]);
    expect(table.columns).toEqual(["Ratio", "Pod", "CPU Usage"]);
    expect(table.rows).toEqual([
      { Ratio: 2, Pod: "b", "CPU Usage": 2 },
      { Ratio: undefined, Pod: "a", "CPU Usage": 0.5 },
    ]);
  });

  it("merge joins on the labels every query has", () => {
    const frames = [
      { refId: "A", series: [series({ __name__: "mem", namespace: "shop", pod: "a" }, 100), series({ __name__: "mem", namespace: "shop", pod: "b" }, 200)] },
      { refId: "B", series: [series({ pod: "b" }, 2), series({ pod: "c" }, 3)] },
    ];
    const table = instantTable(frames, [{ id: "merge" }]);
    expect(table.columns).toEqual(["__name__", "namespace", "pod", "Value #A", "Value #B"]);
    expect(table.rows).toEqual([
      { __name__: "mem", namespace: "shop", pod: "a", "Value #A": 100 },
      { __name__: "mem", namespace: "shop", pod: "b", "Value #A": 200, "Value #B": 2 },
      { pod: "c", "Value #B": 3 },
    ]);
  });

  it("joinByField joins on one label, outer or inner", () => {
    const frames = [
      { refId: "A", series: [series({ container: "x", pod: "p" }, 1), series({ container: "y", pod: "p" }, 2)] },
      { refId: "B", series: [series({ container: "x" }, 10)] },
    ];
    const outer = instantTable(frames, [{ id: "joinByField", options: { byField: "container", mode: "outer" } }]);
    expect(outer.columns).toEqual(["container", "pod", "Value #A", "Value #B"]);
    expect(outer.rows).toEqual([
      { container: "x", pod: "p", "Value #A": 1, "Value #B": 10 },
      { container: "y", pod: "p", "Value #A": 2 },
    ]);
    const inner = instantTable(frames, [{ id: "joinByField", options: { byField: "container", mode: "inner" } }]);
    expect(inner.rows.length).toBe(1);
  });
});

describe("series", () => {
  it("legends from o2 templates, else Prometheus' name", () => {
    expect(legendName({ pod: "a", ns: "b" }, "{pod} in {ns}")).toBe("a in b");
    expect(legendName({ __name__: "up", job: "x" }, "")).toBe('up{job="x"}');
  });

  it("aligns series on the union of their times", () => {
    const a = { ...series({}, 1), times: [1, 2], values: [1, 2] };
    const b = { ...series({}, 1), times: [2, 3], values: [5, 6] };
    expect(alignTimes([a, b])).toEqual({ xs: [1, 2, 3], columns: [[1, 2, null], [null, 5, 6]] });
  });

  it("Prometheus buckets become per-bucket counts", () => {
    const b = (le: string, v: number) => ({ ...series({ le }, v), times: [1], values: [v] });
    const heat = promHeatmap([b("+Inf", 10), b("0.1", 2), b("1", 7)]);
    expect(heat.buckets).toEqual(["0.1", "1", "+Inf"]);
    expect(heat.counts).toEqual([[2], [5], [3]]);
  });
});

describe("SQL answers", () => {
  const hits = [
    { x_axis_1: "2026-11-22T10:00:00", breakdown_1: "shop", y_axis_1: 3 },
    { x_axis_1: "2026-11-22T10:00:00", breakdown_1: "api", y_axis_1: 1 },
    { x_axis_1: "2026-11-22T10:01:00", breakdown_1: "shop", y_axis_1: 4 },
  ];
  it("o2's aliases: a series per breakdown value over time", () => {
    const cols = sqlColumns(hits);
    expect(cols).toEqual({ x: "x_axis_1", ys: ["y_axis_1"], breakdown: "breakdown_1", z: undefined, time: true });
    const s = sqlSeries(hits, cols, "A");
    expect(s.map((x) => [x.name, x.times, x.values])).toEqual([
      ["shop", [Date.UTC(2026, 10, 22, 10) / 1000, Date.UTC(2026, 10, 22, 10, 1) / 1000], [3, 4]],
      ["api", [Date.UTC(2026, 10, 22, 10) / 1000], [1]],
    ]);
    const heat = sqlHeatmap(hits, cols);
    expect(heat.buckets).toEqual(["api", "shop"]);
    expect(heat.counts).toEqual([[1, null], [3, 4]]);
  });

  it("without aliases: the first time or text column is x, numbers are y", () => {
    const cols = sqlColumns([{ level: "error", n: 3 }, { level: "info", n: 9 }]);
    expect(cols).toMatchObject({ x: "level", ys: ["n"], time: false });
    expect(sqlCategories([{ level: "error", n: 3 }, { level: "info", n: 9 }], cols, "A")).toEqual({
      labels: ["error", "info"],
      series: [{ name: "n", refId: "A", values: [3, 9] }],
    });
    expect(sqlColumns([{ _timestamp: 1.7e15, c: 1 }])).toMatchObject({ x: "_timestamp", ys: ["c"], time: true });
    expect(timeOf(1.7e15)).toBe(1.7e9);
    expect(timeOf("error")).toBeUndefined();
  });
});

describe("import", () => {
  it("recognises Grafana dashboards like the server", () => {
    expect(isGrafana({ title: "x", panels: [] })).toBe(true);
    expect(isGrafana({ title: "x", schemaVersion: 39 })).toBe(true);
    expect(isGrafana({ title: "x", rows: [] })).toBe(true);
    expect(isGrafana({ apiVersion: "dashboard.grafana.app/v1beta1", spec: {} })).toBe(true);
    expect(isGrafana({ dashboard: { panels: [] }, meta: {} })).toBe(true);
    expect(isGrafana({ title: "x", tabs: [], panels: [] })).toBe(false);
    expect(isGrafana({ title: "x", version: 8, tabs: [] })).toBe(false);
  });

  it("reads arrays and names what it found", () => {
    const found = candidates(JSON.stringify([{ title: "A", tabs: [] }, { dashboard: { title: "G", panels: [] }, meta: {} }]), "f.json");
    expect(found.map((c) => [c.source, c.title, c.kind])).toEqual([
      ["f.json #1", "A", "v8"],
      ["f.json #2", "G", "grafana"],
    ]);
    expect(() => candidates("{", "bad.json")).toThrow(/bad.json: not JSON/);
  });

  it("exports with the owner blanked", () => {
    const file = exportFile({ title: "Shop / API", owner: "me@x", tabs: [] });
    expect(file.name).toBe("Shop _ API.dashboard.json");
    expect(JSON.parse(file.text).owner).toBe("");
  });
});

describe("markdown", () => {
  it("parses the safe subset and never keeps script links", () => {
    const blocks = parseMarkdown("# Title\n\nSome *em* and **strong** `code` [link](https://x.io) [bad](javascript:alert(1))\n\n- a\n- b\n\n```\n<b>raw</b>\n```\n<script>x</script>");
    expect(blocks[0]).toEqual({ t: "h", level: 1, children: [{ t: "text", text: "Title" }] });
    const para = blocks[1];
    expect(para.t).toBe("p");
    const json = JSON.stringify(para);
    expect(json).toContain('"t":"em"');
    expect(json).toContain('"t":"strong"');
    expect(json).toContain('"href":"https://x.io"');
    expect(json).not.toContain("javascript");
    expect(blocks[2]).toEqual({ t: "ul", items: [[{ t: "text", text: "a" }], [{ t: "text", text: "b" }]] });
    expect(blocks[3]).toEqual({ t: "pre", text: "<b>raw</b>" });
    expect(blocks[4]).toEqual({ t: "p", children: [{ t: "text", text: "<script>x</script>" }] });
  });
});
