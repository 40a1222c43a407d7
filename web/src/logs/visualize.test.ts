import { describe, expect, it } from "vitest";
import {
  appendPanel,
  buildPanel,
  decodeSpec,
  encodeSpec,
  fillZeros,
  newDashboard,
  pivotBars,
  pivotTimeSeries,
  visualizeSql,
  visualizeTitle,
  type Json,
  type VisualizeSpec,
} from "./visualize";

const source = { stream: "golang", condition: `"level" = 'info'` };

describe("Visualize SQL", () => {
  it("a number per interval", () => {
    expect(visualizeSql({ kind: "metric", field: "count", agg: "avg" }, source)).toBe(
      `SELECT histogram(_timestamp) AS x_axis_1, avg("count") AS y_axis_1 FROM "golang" WHERE "level" = 'info' GROUP BY x_axis_1 ORDER BY x_axis_1`,
    );
    expect(visualizeSql({ kind: "metric", field: "took", agg: "max" }, { stream: "k8s" })).toBe(
      `SELECT histogram(_timestamp) AS x_axis_1, max("took") AS y_axis_1 FROM "k8s" GROUP BY x_axis_1 ORDER BY x_axis_1`,
    );
  });
  it("a number split by the top 5 values of a field and Other", () => {
    expect(visualizeSql({ kind: "metric", field: "count", agg: "sum", split: "func" }, { stream: "golang", condition: "a OR b" })).toBe(
      `WITH base AS (SELECT * FROM "golang" WHERE (a OR b) AND "func" IS NOT NULL), ` +
        `top AS (SELECT "func" AS v, count(*) AS n FROM base GROUP BY "func" ORDER BY n DESC, v LIMIT 5) ` +
        `SELECT histogram(base._timestamp) AS x_axis_1, COALESCE(CAST(top.v AS VARCHAR), 'Other') AS breakdown_1, sum(base."count") AS y_axis_1 ` +
        `FROM base LEFT JOIN top ON base."func" = top.v GROUP BY x_axis_1, breakdown_1 ORDER BY x_axis_1`,
    );
  });
  it("a keyword's top 5 values, and over time with its top 3", () => {
    const terms = visualizeSql({ kind: "terms", field: "level" }, { stream: "app" });
    expect(terms).toContain(`WITH base AS (SELECT * FROM "app" WHERE "level" IS NOT NULL)`);
    expect(terms).toContain("LIMIT 5");
    expect(terms).toContain("SELECT COALESCE(CAST(top.v AS VARCHAR), 'Other') AS x_axis_1, count(*) AS y_axis_1");
    const overTime = visualizeSql({ kind: "terms-time", field: "level" }, { stream: "app" });
    expect(overTime).toContain("LIMIT 3");
    expect(overTime).toContain("AS breakdown_1, count(*) AS y_axis_1");
    expect(overTime).toContain("histogram(base._timestamp) AS x_axis_1");
  });
  it("carries a SQL query as a subquery", () => {
    expect(visualizeSql({ kind: "metric", field: "count", agg: "min" }, { stream: "golang", sql: "SELECT * FROM golang WHERE count > 3;" })).toBe(
      `SELECT histogram(_timestamp) AS x_axis_1, min("count") AS y_axis_1 FROM (SELECT * FROM golang WHERE count > 3) AS q GROUP BY x_axis_1 ORDER BY x_axis_1`,
    );
    expect(visualizeSql({ kind: "terms", field: "f" }, { stream: "s", sql: "SELECT * FROM s" })).toContain(
      `WITH base AS (SELECT * FROM (SELECT * FROM s) AS q WHERE "f" IS NOT NULL)`,
    );
  });
  it("quotes field names", () => {
    expect(visualizeSql({ kind: "metric", field: 'we"ird', agg: "avg" }, { stream: "s" })).toContain(`avg("we""ird")`);
  });
  it("titles and URL form", () => {
    const specs: VisualizeSpec[] = [
      { kind: "metric", field: "count", agg: "avg", split: "level" },
      { kind: "metric", field: "count", agg: "sum" },
      { kind: "terms", field: "kubernetes_pod_name" },
      { kind: "terms-time", field: "a:b" },
    ];
    for (const spec of specs) expect(decodeSpec(encodeSpec(spec))).toEqual(spec);
    expect(visualizeTitle(specs[0])).toBe("Average of count over time by level");
    expect(visualizeTitle(specs[2])).toBe("Count of top 5 values of kubernetes_pod_name");
    expect(decodeSpec("nonsense")).toBeUndefined();
    expect(decodeSpec("metric:count:median")).toEqual({ kind: "metric", field: "count", agg: "avg" });
  });
});

describe("chart data", () => {
  it("pivots breakdown rows into series, largest first and Other last", () => {
    const data = pivotTimeSeries([
      { x_axis_1: "2026-01-05T10:00:00", breakdown_1: "Other", y_axis_1: 100 },
      { x_axis_1: "2026-01-05T10:00:00", breakdown_1: "a", y_axis_1: 1 },
      { x_axis_1: "2026-01-05T10:00:10", breakdown_1: "b", y_axis_1: 5 },
      { x_axis_1: "2026-01-05T10:00:10", breakdown_1: "a", y_axis_1: 2 },
    ]);
    expect(data.xs).toEqual([Date.UTC(2026, 0, 5, 10, 0, 0) / 1000, Date.UTC(2026, 0, 5, 10, 0, 10) / 1000]);
    expect(data.series.map((s) => s.name)).toEqual(["b", "a", "Other"]);
    expect(data.series[0].values).toEqual([null, 5]);
    expect(data.series[1].values).toEqual([1, 2]);
  });
  it("names the single series", () => {
    const data = pivotTimeSeries([{ x_axis_1: "2026-01-05T10:00:00", y_axis_1: 3.5 }], "avg(count)");
    expect(data.series).toEqual([{ name: "avg(count)", values: [3.5] }]);
  });
  it("fills empty count buckets with zeros", () => {
    const data = { xs: [100, 130], series: [{ name: "a", values: [1, null] }] };
    expect(fillZeros(data, 10, [95e6, 140e6])).toEqual({ xs: [90, 100, 110, 120, 130], series: [{ name: "a", values: [0, 1, 0, 0, 0] }] });
    expect(fillZeros(data, 7, [95e6, 140e6])).toBe(data); // off the grid: unchanged
    expect(fillZeros(data, undefined, [95e6, 140e6])).toBe(data);
  });
  it("keeps bars in order with Other last", () => {
    expect(
      pivotBars([
        { x_axis_1: "Other", y_axis_1: 50 },
        { x_axis_1: "error", y_axis_1: 10 },
        { x_axis_1: "info", y_axis_1: 5 },
      ]),
    ).toEqual({ labels: ["error", "info", "Other"], values: [10, 5, 50] });
  });
});

describe("Add to dashboard", () => {
  const spec: VisualizeSpec = { kind: "metric", field: "count", agg: "avg", split: "func" };
  const panel = buildPanel(spec, "SELECT 1", "golang");
  it("builds an o2 v8 SQL panel", () => {
    expect(panel).toMatchObject({
      type: "line",
      queryType: "sql",
      title: "Average of count over time by func",
      queries: [{ query: "SELECT 1", customQuery: true, fields: { stream: "golang", stream_type: "logs" } }],
    });
    const fields = (panel.queries as Json[])[0].fields as Json;
    expect((fields.x as Json[])[0]).toMatchObject({ alias: "x_axis_1", functionName: "histogram" });
    expect((fields.y as Json[])[0]).toMatchObject({ alias: "y_axis_1", functionName: "avg" });
    expect((fields.breakdown as Json[])[0]).toMatchObject({ alias: "breakdown_1" });
    expect(buildPanel({ kind: "terms", field: "level" }, "x", "s").type).toBe("bar");
  });
  it("appends below the lowest panel of the first tab with a fresh i and id", () => {
    const dashboard = {
      version: 8,
      title: "Shop",
      tabs: [
        {
          tabId: "default",
          name: "Default",
          panels: [
            { id: "Panel_ID1", layout: { x: 0, y: 0, w: 96, h: 18, i: 1 } },
            { id: "Panel_ID2", layout: { x: 96, y: 0, w: 96, h: 30, i: 2 } },
            { id: "Panel_ID3", layout: { x: 0, y: 18, w: 96, h: 9, i: 3 } },
          ],
        },
        { tabId: "other", name: "Other", panels: [{ id: "Panel_ID9", layout: { x: 0, y: 0, w: 10, h: 10, i: 7 } }] },
      ],
    };
    const ids = ["Panel_ID2", "Panel_ID2", "Panel_ID42"];
    const next = appendPanel(dashboard, panel, () => ids.shift()!);
    const panels = (next.tabs as Json[])[0].panels as Json[];
    expect(panels).toHaveLength(4);
    expect(panels[3].layout).toEqual({ x: 0, y: 30, w: 96, h: 18, i: 8 });
    expect(panels[3].id).toBe("Panel_ID42");
    expect(panels[3].title).toBe("Average of count over time by func");
    expect(dashboard.tabs[0].panels).toHaveLength(3); // the input is unchanged
  });
  it("starts an empty dashboard at the top", () => {
    const made = newDashboard("From logs", panel, { from: "now-15m", to: "now" }, () => "Panel_ID5");
    expect(made).toMatchObject({ version: 8, title: "From logs", defaultDatetimeDuration: { type: "relative", relativeTimePeriod: "15m" } });
    expect(((made.tabs as Json[])[0].panels as Json[])[0].layout).toEqual({ x: 0, y: 0, w: 96, h: 18, i: 1 });
    const absolute = newDashboard("Abs", panel, { from: "1700000000000000", to: "1700000900000000" });
    expect(absolute.defaultDatetimeDuration).toMatchObject({ type: "absolute", startTime: 1700000000000000, endTime: 1700000900000000 });
    expect(appendPanel({ title: "no tabs" }, panel, () => "P").tabs).toHaveLength(1);
  });
});
