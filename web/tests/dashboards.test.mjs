// End-to-end tests of the dashboards: a real `kansoku serve` with metrics (OTLP/JSON: a gauge,
// a counter and a histogram per pod) and log records (`_json`); a dashboard built with the panel
// editor; a panel of every type rendering real data (values of area, scatter and stacked charts
// in their legends); the shared tooltip; full-screen panels in the URL; Explore; chained,
// multi-value and interval variables; queries aborted when the range changes; drag to zoom;
// moving and resizing panels; the 409 conflict; import (o2 and Grafana, with the report) and
// export; the built-in Kubernetes dashboard and its copy; folders; a viewer's read-only view.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { login, startBrowser, startServer } from "./harness.mjs";

let server;
let browser;
let page;

const PODS = [
  { namespace: "shop", pod: "shop-1", memory: 100, perSecond: 1 },
  { namespace: "shop", pod: "shop-2", memory: 200, perSecond: 2 },
  { namespace: "payments", pod: "pay-1", memory: 300, perSecond: 3 },
];

/** OTLP/JSON: per pod a memory gauge, a request counter and a latency histogram, a point
 * every 30 seconds over the last 30 minutes (so that `rate(…[1m])` has two samples). */
function otlpMetrics() {
  const now = Date.now();
  const start = String(BigInt(now - 31 * 60_000) * 1_000_000n);
  const points = (make) =>
    PODS.flatMap((p) =>
      Array.from({ length: 61 }, (_, i) => ({
        timeUnixNano: String(BigInt(now - (60 - i) * 30_000) * 1_000_000n),
        startTimeUnixNano: start,
        attributes: [
          { key: "namespace", value: { stringValue: p.namespace } },
          { key: "pod", value: { stringValue: p.pod } },
        ],
        ...make(p, i),
      })),
    );
  return {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: "shop" } }] },
        scopeMetrics: [
          {
            metrics: [
              { name: "app.memory", gauge: { dataPoints: points((p) => ({ asDouble: p.memory })) } },
              {
                name: "app.requests",
                sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: points((p, i) => ({ asDouble: p.perSecond * 30 * i })) },
              },
              {
                name: "app.latency",
                unit: "s",
                histogram: {
                  aggregationTemporality: 2,
                  dataPoints: points((p, i) => ({
                    count: String(6 * i),
                    sum: i,
                    explicitBounds: [0.1, 0.5, 1],
                    bucketCounts: [String(3 * i), String(2 * i), String(i), "0"],
                  })),
                },
              },
            ],
          },
        ],
      },
    ],
  };
}

function logRecords() {
  const now = Date.now();
  return Array.from({ length: 60 }, (_, i) => ({
    "@timestamp": new Date(now - (i + 1) * 9_000).toISOString(),
    level: ["error", "info", "warn"][i % 3],
    namespace: i % 2 ? "shop" : "payments",
    message: `${["ERROR", "INFO", "WARN"][i % 3]} request ${i}`,
  }));
}

async function api(method, path, body, auth = server.auth) {
  const response = await fetch(`${server.base}${path}`, {
    method,
    headers: { authorization: auth, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const query = (text, config = {}, fields = { stream: "", stream_type: "metrics" }) => ({
  query: text,
  vrlFunctionQuery: "",
  customQuery: true,
  fields: { ...fields, x: [], y: [], z: [], breakdown: [], filter: { filterType: "group", logicalOperator: "AND", conditions: [] } },
  config,
});
const sqlQuery = (text, config = {}) => query(text, config, { stream: "app", stream_type: "logs" });

let nextY = 0;
function panel(id, type, title, queryType, queries, config = {}, extra = {}, w = 96) {
  const layout = { x: nextY % 2 ? 96 : 0, y: Math.floor(nextY / 2) * 14, w, h: 14, i: nextY + 1 };
  nextY += w === 192 ? 2 : 1;
  return { id, type, title, description: `${title} (test)`, queryType, queries, config, layout, ...extra };
}

function everyPanelDashboard() {
  nextY = 0;
  const panels = [
    panel("line", "line", "Requests by pod", "promql", [query("sum by (pod) (rate(app_requests_total[$__rate_interval]))", { promql_legend: "{pod}" })], {
      unit: "numbers",
      thresholds: { mode: "absolute", steps: [{ color: "green", value: null }, { color: "red", value: 2.5 }] },
    }),
    panel("stacked", "area-stacked", "Memory by namespace", "promql", [query("sum by (namespace) (app_memory)", { promql_legend: "{namespace}" })], { unit: "bytes" }),
    panel("bar", "bar", "Records over time", "sql", [sqlQuery('SELECT histogram(_timestamp) AS "x_axis_1", count(*) AS "y_axis_1" FROM "app" GROUP BY "x_axis_1" ORDER BY "x_axis_1"')]),
    panel("hbar", "h-bar", "Records by level", "sql", [sqlQuery('SELECT level AS "x_axis_1", count(*) AS "y_axis_1" FROM "app" GROUP BY "x_axis_1" ORDER BY "y_axis_1" DESC')]),
    panel(
      "table",
      "table",
      "Pods",
      "promql",
      [
        query("sum by (pod) (app_memory)", { instant: true, format: "table", query_label: "A" }),
        query("sum by (pod) (rate(app_requests_total[5m]))", { instant: true, format: "table", query_label: "B" }),
      ],
      {
        decimals: 0,
        transformations: [
          { id: "merge", options: {} },
          { id: "organize", options: { renameByName: { pod: "Pod", "Value #A": "Memory", "Value #B": "Requests/s" } } },
          { id: "sortBy", options: { sort: [{ field: "Memory", desc: false }] } },
        ],
      },
    ),
    panel("stat", "metric", "Total memory", "promql", [query("sum(app_memory)", { instant: true })], { unit: "bytes", decimals: 0 }),
    panel("gauge", "gauge", "Largest pod against 1000", "promql", [query("max(app_memory) / 1000", { instant: true })], {
      unit: "percent-1",
      decimals: 0,
      thresholds: { mode: "absolute", steps: [{ color: "green", value: null }, { color: "red", value: 0.25 }] },
    }),
    panel("heatmap", "heatmap", "Latency", "promql", [query("sum by (le) (rate(app_latency_seconds_bucket[$__rate_interval]))")]),
    panel("pie", "pie", "Records by namespace", "sql", [sqlQuery('SELECT namespace AS "x_axis_1", count(*) AS "y_axis_1" FROM "app" GROUP BY "x_axis_1"')]),
    panel("md", "markdown", "Runbook", "", [], {}, { markdownContent: "# Runbook\n\nRestart **shop** first. [Docs](https://example.com/docs) [bad](javascript:alert(1))" }),
    panel("logs", "logs", "Errors", "sql", [sqlQuery(`SELECT * FROM "app" WHERE level = 'error'`)]),
    panel("donut", "donut", "Memory share", "promql", [query("sum by (namespace) (app_memory)", { promql_legend: "{namespace}" })]),
    panel("html", "html", "Notes", "", [], {}, { htmlContent: "<p id='x'>html <b>kept as text</b></p><script>parent.document.title='owned'</script>" }),
    panel("geo", "geomap", "Map", "sql", [sqlQuery('SELECT count(*) AS "y_axis_1" FROM "app"')]),
  ];
  return {
    version: 8,
    title: "Every panel",
    description: "one panel of each type",
    tabs: [{ tabId: "default", name: "Default", panels }],
    variables: { list: [], showDynamicFilters: false },
    defaultDatetimeDuration: { type: "relative", relativeTimePeriod: "1h", startTime: 0, endTime: 0 },
  };
}

function variablesDashboard() {
  nextY = 0;
  return {
    version: 8,
    title: "Variables",
    tabs: [
      {
        tabId: "default",
        name: "Default",
        panels: [
          panel("podtable", "table", "Memory of the pods", "promql", [query('sum by (pod) (app_memory{namespace="$namespace", pod=~"$pod"})', { instant: true })]),
          panel("levels", "metric", "Records of the levels", "sql", [sqlQuery('SELECT count(*) AS "y_axis_1" FROM "app" WHERE level IN ($level)')], { decimals: 0 }),
        ],
      },
    ],
    variables: {
      list: [
        { type: "query_values", name: "namespace", label: "Namespace", query_data: { stream_type: "metrics", stream: "", field: "", promql: "label_values(app_memory, namespace)" }, sort: 1 },
        {
          type: "query_values",
          name: "pod",
          label: "Pod",
          query_data: { stream_type: "metrics", stream: "", field: "", promql: 'label_values(app_memory{namespace="$namespace"}, pod)' },
          sort: 1,
          multiSelect: true,
          includeAll: true,
          value: ["$__all"],
        },
        {
          type: "custom",
          name: "level",
          label: "Level",
          multiSelect: true,
          options: [
            { label: "error", value: "error", selected: true },
            { label: "info", value: "info" },
            { label: "warn", value: "warn" },
          ],
        },
      ],
      showDynamicFilters: false,
    },
    defaultDatetimeDuration: { type: "relative", relativeTimePeriod: "1h", startTime: 0, endTime: 0 },
  };
}

/** Area, scatter, stacked bars and horizontal stacked bars (values in their legends), and a SQL
 * histogram whose bucket is an interval variable. */
function chartsDashboard() {
  nextY = 0;
  const levels = 'WHERE namespace = \'shop\' OR level <> \'warn\''; // no warn lines of payments
  return {
    version: 8,
    title: "Charts",
    tabs: [
      {
        tabId: "default",
        name: "Default",
        panels: [
          panel("area", "area", "Memory by pod", "promql", [query("sum by (pod) (app_memory)", { promql_legend: "{pod}" })], { unit: "bytes", legend_calcs: ["lastNotNull"] }),
          panel("scatter", "scatter", "Largest pod by namespace", "promql", [query("max by (namespace) (app_memory)", { promql_legend: "{namespace}" })], {
            unit: "bytes",
            legend_calcs: ["max"],
          }),
          panel(
            "stackedbars",
            "stacked",
            "Records by level",
            "sql",
            [sqlQuery(`SELECT histogram(_timestamp) AS "x_axis_1", level AS "breakdown_1", count(*) AS "y_axis_1" FROM "app" ${levels} GROUP BY "x_axis_1", "breakdown_1" ORDER BY "x_axis_1"`)],
            { legend_calcs: ["sum"] },
          ),
          panel(
            "hstacked",
            "h-stacked",
            "Levels by namespace",
            "sql",
            [sqlQuery(`SELECT level AS "x_axis_1", namespace AS "breakdown_1", count(*) AS "y_axis_1" FROM "app" ${levels} GROUP BY "x_axis_1", "breakdown_1" ORDER BY "x_axis_1"`)],
            { legend_calcs: ["sum"] },
          ),
          panel("bucketed", "bar", "Records per $interval", "sql", [
            sqlQuery(`SELECT histogram(_timestamp, '$interval') AS "x_axis_1", count(*) AS "y_axis_1" FROM "app" GROUP BY "x_axis_1" ORDER BY "x_axis_1"`),
          ]),
        ],
      },
    ],
    variables: {
      list: [{ type: "interval", name: "interval", label: "Interval", options: ["1m", "5m", "10m"].map((v) => ({ label: v, value: v })), value: "1m" }],
      showDynamicFilters: false,
    },
    defaultDatetimeDuration: { type: "relative", relativeTimePeriod: "1h", startTime: 0, endTime: 0 },
  };
}

/** One PromQL panel (its request is held by the cancellation test). */
function slowDashboard() {
  nextY = 0;
  return {
    version: 8,
    title: "Slow",
    tabs: [{ tabId: "default", name: "Default", panels: [panel("slow", "line", "Total memory over time", "promql", [query("sum(app_memory)")])] }],
    variables: { list: [], showDynamicFilters: false },
    defaultDatetimeDuration: { type: "relative", relativeTimePeriod: "1h", startTime: 0, endTime: 0 },
  };
}

let everyId;
let varsId;
let chartsId;
let slowId;

before(async () => {
  server = await startServer();
  const response = await fetch(`${server.base}/api/default/v1/metrics`, {
    method: "POST",
    headers: { authorization: server.auth, "content-type": "application/json" },
    body: JSON.stringify(otlpMetrics()),
  });
  assert.equal(response.status, 200, await response.text());
  await server.ingest("app", logRecords());
  const every = await api("POST", "/api/default/dashboards?folder=default", everyPanelDashboard());
  assert.equal(every.status, 201, JSON.stringify(every.body));
  everyId = every.body.v8.dashboardId;
  const vars = await api("POST", "/api/default/dashboards?folder=default", variablesDashboard());
  assert.equal(vars.status, 201, JSON.stringify(vars.body));
  varsId = vars.body.v8.dashboardId;
  const charts = await api("POST", "/api/default/dashboards?folder=default", chartsDashboard());
  assert.equal(charts.status, 201, JSON.stringify(charts.body));
  chartsId = charts.body.v8.dashboardId;
  const slow = await api("POST", "/api/default/dashboards?folder=default", slowDashboard());
  assert.equal(slow.status, 201, JSON.stringify(slow.body));
  slowId = slow.body.v8.dashboardId;
  browser = await startBrowser();
  page = await browser.context.newPage();
  await login(page, server.base);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const panelOf = (id) => page.locator(`[data-testid=panel][data-panel-id="${id}"]`);
const openDashboard = (id, extra = "") => page.goto(`${server.base}/dashboards/view?org=default&dashboard=${id}${extra}`);

/** Scrolls a panel into view (panels load only near the viewport) and waits for `what` in it. */
async function shown(id, what) {
  const p = panelOf(id);
  await p.scrollIntoViewIfNeeded();
  const found = p.locator(what).first();
  await found.waitFor({ timeout: 20_000 });
  return found;
}

test("a dashboard is created, and a panel added with the editor and saved", async () => {
  await page.getByRole("link", { name: "Dashboards" }).click();
  await page.getByRole("button", { name: "New dashboard" }).click();
  await page.getByLabel("Dashboard title").fill("Shop");
  await page.getByRole("button", { name: "Create" }).click();
  await page.getByTestId("dashboard").waitFor();
  await page.getByText("This dashboard has no panels yet").waitFor();
  await page.getByRole("button", { name: "Edit", exact: true }).click();
  await page.getByRole("button", { name: "Add panel" }).click();
  const editor = page.getByRole("dialog", { name: "Edit panel" });
  await editor.getByLabel("Title", { exact: true }).fill("Total memory");
  await editor.getByLabel("Panel type").selectOption("metric");
  await editor.getByLabel("Unit").selectOption("bytes");
  await editor.locator(".cm-content").click();
  await page.keyboard.insertText("sum(app_memory)");
  await page.keyboard.press("Escape");
  await page.keyboard.press("Control+Enter");
  // The live preview runs the query.
  await editor.getByTestId("preview").getByTestId("stat-value").filter({ hasText: "600 B" }).waitFor();
  await editor.getByRole("button", { name: "Apply" }).click();
  await page.getByTestId("stat-value").filter({ hasText: "600 B" }).waitFor();
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByRole("status").filter({ hasText: "Saved" }).waitFor();
  const id = new URL(page.url()).searchParams.get("dashboard");
  const saved = await api("GET", `/api/default/dashboards/${id}`);
  const panels = saved.body.v8.tabs[0].panels;
  assert.equal(panels.length, 1);
  assert.equal(panels[0].type, "metric");
  assert.equal(panels[0].queries[0].query, "sum(app_memory)");
  assert.equal(panels[0].config.unit, "bytes");
  await page.reload();
  await page.getByTestId("stat-value").filter({ hasText: "600 B" }).waitFor();
});

test("a panel of every type renders real data", async () => {
  await openDashboard(everyId);
  await page.getByTestId("dashboard").waitFor();

  const line = await shown("line", "[data-testid=chart][data-series='3'] canvas");
  assert.ok(line);
  const legend = await panelOf("line").getByRole("list", { name: "Legend" }).textContent();
  for (const pod of ["shop-1", "shop-2", "pay-1"]) assert.ok(legend.includes(pod), legend);
  await shown("stacked", "[data-testid=chart][data-series='2'] canvas");
  await shown("bar", "[data-testid=chart][data-mode=time] canvas");
  await shown("hbar", "[data-testid=chart][data-mode=category] canvas");

  await shown("table", "table");
  const rows = await panelOf("table").locator("tbody tr").allTextContents();
  assert.deepEqual(rows, ["shop-11001", "shop-22002", "pay-13003"]);
  assert.deepEqual(await panelOf("table").locator("thead th").allTextContents(), ["Pod", "Memory", "Requests/s"]);

  assert.equal(await (await shown("stat", "[data-testid=stat-value]")).textContent(), "600 B");
  const gauge = await shown("gauge", "[data-testid=gauge]");
  assert.match(await gauge.textContent(), /30%/);
  // Above the 0.25 threshold: red.
  assert.equal(await panelOf("gauge").locator(".gauge-value").getAttribute("fill"), "#f2495c");

  await shown("heatmap", "[data-testid=chart][data-mode=heatmap][data-series='4'] canvas");
  await shown("pie", "[data-testid=pie] path");
  assert.equal(await panelOf("pie").locator("[data-testid=pie] path").count(), 2);
  assert.match(await panelOf("pie").getByRole("list", { name: "Legend" }).textContent(), /shop.*30 · 50\.0%/);
  await shown("donut", "[data-testid=pie] path");

  await shown("md", "h1");
  assert.equal(await panelOf("md").locator("h1").textContent(), "Runbook");
  assert.equal(await panelOf("md").locator("strong").textContent(), "shop");
  assert.equal(await panelOf("md").locator("a").count(), 1, "the javascript: link is not a link");
  assert.equal(await panelOf("md").locator("a").getAttribute("href"), "https://example.com/docs");

  await shown("logs", ".dash-log");
  const records = await panelOf("logs").locator(".dash-log").allTextContents();
  assert.equal(records.length, 20);
  assert.ok(records.every((r) => /error.*ERROR request/.test(r)), records[0]);
  assert.match(records[0], /ERROR request 0$/, "newest first");

  const frame = await shown("html", "iframe");
  assert.equal(await frame.getAttribute("sandbox"), "");
  assert.equal(await page.title(), "kansoku", "the HTML panel's script did not run");
  assert.equal(await panelOf("html").locator("b").count(), 0, "the HTML is not in the page");

  await shown("geo", "[data-testid=unsupported]");
  assert.match(await panelOf("geo").textContent(), /“geomap” are not supported by kansoku/);

  // Description tooltip and the panel menu.
  assert.equal(await panelOf("line").getByTestId("panel-description").getAttribute("title"), "Requests by pod (test)");
  await panelOf("line").getByRole("button", { name: "Menu of Requests by pod" }).click();
  await page.getByRole("menuitem", { name: "View" }).click();
  await page.getByRole("dialog", { name: "Requests by pod" }).locator("[data-testid=chart][data-series='3'] canvas").waitFor();
  await page.keyboard.press("Escape");
  await panelOf("line").getByRole("button", { name: "Menu of Requests by pod" }).click();
  await page.getByRole("menuitem", { name: "Explore" }).click();
  await page.waitForURL(/\/metrics-explorer\?/);
  const explored = new URL(page.url()).searchParams;
  assert.equal(explored.get("q"), "sum by (pod) (rate(app_requests_total[1m]))");
  assert.equal(explored.get("from"), "now-1h");
});

test("area, scatter, stacked and horizontal stacked panels render with their values", async () => {
  await openDashboard(chartsId);
  await page.getByTestId("dashboard").waitFor();
  const legend = (id) => panelOf(id).getByRole("list", { name: "Legend" });

  await shown("area", "[data-testid=chart][data-mode=time][data-series='3'] canvas");
  assert.deepEqual((await legend("area").locator("li").allTextContents()).sort(), ["pay-1 last: 300 B", "shop-1 last: 100 B", "shop-2 last: 200 B"]);

  await shown("scatter", "[data-testid=chart][data-mode=time][data-series='2'] canvas");
  const scatter = await legend("scatter").locator("li").allTextContents();
  assert.deepEqual([...scatter].sort(), ["payments max: 300 B", "shop max: 200 B"]);

  // Stacked bars over time: 20 error and 20 info lines, 10 warn ones (those of shop).
  await shown("stackedbars", "[data-testid=chart][data-mode=time][data-series='3'] canvas");
  assert.deepEqual([...(await legend("stackedbars").locator("li").allTextContents())].sort(), ["error sum: 20", "info sum: 20", "warn sum: 10"]);

  // Horizontal stacked bars of categories: a level per bar, a namespace per part.
  await shown("hstacked", "[data-testid=chart][data-mode=category][data-series='2'][data-points='3'] canvas");
  assert.deepEqual([...(await legend("hstacked").locator("li").allTextContents())].sort(), ["payments sum: 20", "shop sum: 30"]);
  // Hovering a bar reads out its parts.
  const over = await panelOf("hstacked").locator(".u-over").boundingBox();
  await page.mouse.move(over.x + over.width / 2, over.y + over.height / 4);
  const tip = panelOf("hstacked").getByRole("tooltip");
  await tip.waitFor();
  assert.match(await tip.textContent(), /^(error|info|warn)/);
  assert.match(await tip.textContent(), /shop10/);
  await page.mouse.move(1, 1);
});

test("the tooltip is shared: hovering one time series shows the others' values at that time", async () => {
  await openDashboard(chartsId);
  await shown("area", "[data-testid=chart] canvas");
  await shown("scatter", "[data-testid=chart] canvas");
  const over = await panelOf("area").locator(".u-over").boundingBox();
  // 12 minutes ago: every series has points there.
  await page.mouse.move(over.x + over.width * 0.8, over.y + over.height / 2);
  const own = panelOf("area").getByRole("tooltip");
  await own.waitFor();
  assert.equal(await own.getAttribute("data-synced"), null);
  assert.match(await own.textContent(), /pay-1300 B.*shop-2200 B.*shop-1100 B/);
  const synced = panelOf("scatter").getByRole("tooltip");
  await synced.waitFor();
  assert.equal(await synced.getAttribute("data-synced"), "true");
  assert.match(await synced.textContent(), /payments300 B.*shop200 B/);
  // Both read the same time.
  assert.equal(await synced.locator(".muted").first().textContent(), await own.locator(".muted").first().textContent());
  // Leaving the panel hides both.
  await page.mouse.move(1, 1);
  await synced.waitFor({ state: "detached" });
  assert.equal(await own.count(), 0);
});

test("a panel is viewed full screen: in the URL, kept on reload, closed by Escape and by its button", async () => {
  await openDashboard(everyId);
  await shown("line", "[data-testid=chart] canvas");
  await panelOf("line").getByRole("button", { name: "Menu of Requests by pod" }).click();
  await page.getByRole("menuitem", { name: "View" }).click();
  const full = page.getByRole("dialog", { name: "Requests by pod" });
  await full.locator("[data-testid=chart][data-series='3'] canvas").waitFor();
  assert.equal(new URL(page.url()).searchParams.get("viewPanel"), "line");
  // The whole viewport, and the chart nearly as wide.
  const viewport = page.viewportSize();
  assert.deepEqual(await full.boundingBox(), { x: 0, y: 0, width: viewport.width, height: viewport.height });
  const chart = await full.locator(".uchart-host canvas").boundingBox();
  assert.ok(chart.width > viewport.width - 100 && chart.height > viewport.height / 2, JSON.stringify(chart));
  assert.equal(await page.locator("[data-testid=panel]").count(), 1, "only the viewed panel");

  await page.reload();
  await full.locator("[data-testid=chart][data-series='3'] canvas").waitFor();
  assert.deepEqual(await full.boundingBox(), { x: 0, y: 0, width: viewport.width, height: viewport.height });
  await page.keyboard.press("Escape");
  await full.waitFor({ state: "detached" });
  assert.equal(new URL(page.url()).searchParams.get("viewPanel"), null);
  await shown("stat", "[data-testid=stat-value]");

  // A shared link opens it too; the button closes it.
  await openDashboard(everyId, "&viewPanel=stat");
  const stat = page.getByRole("dialog", { name: "Total memory" });
  await stat.getByTestId("stat-value").filter({ hasText: "600 B" }).waitFor();
  await stat.getByRole("button", { name: "Exit full screen" }).click();
  await stat.waitFor({ state: "detached" });
  await panelOf("line").waitFor();
  assert.equal(new URL(page.url()).searchParams.get("viewPanel"), null);
});

test("Explore on a SQL panel opens the logs page with its query and range", async () => {
  await openDashboard(everyId, "&from=now-6h&to=now");
  await shown("bar", "[data-testid=chart] canvas");
  await panelOf("bar").getByRole("button", { name: "Menu of Records over time" }).click();
  await page.getByRole("menuitem", { name: "Explore" }).click();
  await page.waitForURL(/\/logs\?/);
  const params = new URL(page.url()).searchParams;
  const sql = 'SELECT histogram(_timestamp) AS "x_axis_1", count(*) AS "y_axis_1" FROM "app" GROUP BY "x_axis_1" ORDER BY "x_axis_1"';
  assert.equal(params.get("mode"), "sql");
  assert.equal(params.get("q"), sql);
  assert.equal(params.get("stream"), "app");
  assert.equal(params.get("from"), "now-6h");
  assert.equal(params.get("to"), "now");
  await page.locator(".cm-content").filter({ hasText: sql }).waitFor();
  assert.match(await page.getByRole("button", { name: "Time range" }).textContent(), /Last 6 hours/);
});

test("an interval variable sets the bucket of a SQL query", async () => {
  const sqls = [];
  const listener = (request) => request.url().includes("/_search") && sqls.push(JSON.parse(request.postData() ?? "{}").query?.sql ?? "");
  page.on("request", listener);
  try {
    await openDashboard(chartsId);
    const interval = page.getByLabel("Interval", { exact: true });
    await interval.waitFor();
    assert.equal(await interval.inputValue(), "1m");
    // 60 records over the last 9 minutes: 9 or 10 one-minute buckets.
    await shown("bucketed", "[data-testid=chart] canvas");
    assert.ok(Number(await panelOf("bucketed").getByTestId("chart").getAttribute("data-points")) >= 9);
    assert.ok(sqls.some((q) => q.includes("histogram(_timestamp, '1m')")), sqls.join("\n"));
    assert.equal(await panelOf("bucketed").locator(".panel-title").textContent(), "Records per 1m");

    sqls.length = 0;
    await interval.selectOption("5m");
    await page.waitForFunction(() => new URL(location.href).searchParams.get("var-interval") === "5m");
    await panelOf("bucketed").locator(".panel-title").filter({ hasText: "Records per 5m" }).waitFor();
    // At most 3 five-minute buckets.
    await page.waitForFunction(() => Number(document.querySelector("[data-panel-id=bucketed] [data-testid=chart]")?.getAttribute("data-points")) <= 3);
    const bucketed = sqls.filter((q) => q.includes('AS "x_axis_1", count(*) AS "y_axis_1" FROM "app" GROUP BY'));
    assert.deepEqual(bucketed, [`SELECT histogram(_timestamp, '5m') AS "x_axis_1", count(*) AS "y_axis_1" FROM "app" GROUP BY "x_axis_1" ORDER BY "x_axis_1"`]);
  } finally {
    page.off("request", listener);
  }
});

/** Polls `check` (a Node-side condition) until it holds. */
async function until(check, what) {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test("a panel's query in flight is aborted when the time range changes", async () => {
  const held = [];
  const hold = (route) => held.push(route);
  const startOf = (route) => Number(new URLSearchParams(route.request().postData() ?? "").get("start"));
  await page.route("**/api/v1/query_range", hold);
  try {
    await openDashboard(slowId);
    await until(() => held.length > 0, "the panel's query_range");
    const count = held.length;
    const inFlight = held[count - 1];
    assert.equal(new URLSearchParams(inFlight.request().postData() ?? "").get("query"), "sum(app_memory)");
    const failed = page.waitForEvent("requestfailed", { predicate: (r) => r === inFlight.request() });
    await page.getByRole("button", { name: "Time range" }).click();
    await page.getByRole("button", { name: "Last 15 minutes" }).click();
    const request = await failed;
    assert.match(request.failure()?.errorText ?? "", /ABORTED|cancel/i);
    // The new range's query runs and is drawn.
    await until(() => held.length > count, "the new range's query_range");
    const next = held[held.length - 1];
    assert.ok(startOf(next) > startOf(inFlight) + 40 * 60, `${startOf(inFlight)} → ${startOf(next)}`);
    await next.continue();
    await shown("slow", "[data-testid=chart] canvas");
  } finally {
    await page.unroute("**/api/v1/query_range", hold);
    for (const route of held) await route.continue().catch(() => {});
  }
});

test("dragging across a time series zooms the dashboard's range", async () => {
  await openDashboard(everyId);
  await shown("line", "[data-testid=chart] canvas");
  const box = await panelOf("line").locator(".u-over").boundingBox();
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(() => /^\d+$/.test(new URL(location.href).searchParams.get("from") ?? ""));
  const params = new URL(page.url()).searchParams;
  const [from, to] = [Number(params.get("from")), Number(params.get("to"))];
  assert.ok(to > from);
  assert.ok(to - from < 40 * 60 * 1e6 && to - from > 10 * 60 * 1e6, `about 40% of the hour: ${(to - from) / 6e7} minutes`);
  await shown("line", "[data-testid=chart] canvas");
});

test("variables: a query variable, a chained one and a multi-value custom one drive the queries", async () => {
  const queries = [];
  const listener = (request) => {
    if (request.url().includes("/prometheus/api/v1/query")) queries.push(new URLSearchParams(request.postData() ?? "").get("query"));
    if (request.url().includes("/_search")) queries.push(JSON.parse(request.postData() ?? "{}").query?.sql);
  };
  page.on("request", listener);
  await openDashboard(varsId);
  const namespace = page.getByLabel("Namespace", { exact: true });
  await namespace.waitFor();
  assert.equal(await namespace.inputValue(), "payments");
  await panelOf("podtable").locator("tbody tr").filter({ hasText: "pay-1" }).waitFor();
  assert.deepEqual(await panelOf("podtable").locator("tbody tr").allTextContents(), ["pay-1300"]);
  assert.ok(queries.includes('sum by (pod) (app_memory{namespace="payments", pod=~"pay-1"})'), queries.join("\n"));
  // The URL holds every variable.
  let params = new URL(page.url()).searchParams;
  assert.equal(params.get("var-namespace"), "payments");
  assert.equal(params.get("var-pod"), "$__all");
  assert.deepEqual(params.getAll("var-level"), ["error"]);
  await (await shown("levels", "[data-testid=stat-value]")).waitFor();
  assert.equal(await panelOf("levels").getByTestId("stat-value").textContent(), "20");

  // The chained variable follows the first; the table runs once, with both pods.
  queries.length = 0;
  await namespace.selectOption("shop");
  await panelOf("podtable").locator("tbody tr").nth(1).waitFor();
  assert.deepEqual(await panelOf("podtable").locator("tbody tr").allTextContents(), ["shop-1100", "shop-2200"]);
  await page.waitForTimeout(300);
  const tableQueries = queries.filter((q) => q?.includes("app_memory{"));
  assert.deepEqual(tableQueries, ['sum by (pod) (app_memory{namespace="shop", pod=~"(shop-1|shop-2)"})']);

  // One pod of the multi-value variable.
  await page.getByRole("button", { name: "Pod", exact: true }).click();
  const podList = page.getByRole("listbox", { name: "Pod values" });
  await podList.getByLabel("All", { exact: true }).uncheck();
  await podList.getByLabel("shop-2").check();
  await podList.getByRole("button", { name: "Apply" }).click();
  await page.waitForFunction(() => new URL(location.href).searchParams.get("var-pod") === "shop-2");
  await panelOf("podtable").locator("tbody tr").filter({ hasText: "shop-2200" }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll("[data-panel-id=podtable] tbody tr").length === 1);

  // Several values of the custom variable become a SQL list.
  queries.length = 0;
  await page.getByRole("button", { name: "Level", exact: true }).click();
  const levelList = page.getByRole("listbox", { name: "Level values" });
  await levelList.getByLabel("warn").check();
  await levelList.getByRole("button", { name: "Apply" }).click();
  await panelOf("levels").getByTestId("stat-value").filter({ hasText: "40" }).waitFor();
  assert.ok(queries.includes(`SELECT count(*) AS "y_axis_1" FROM "app" WHERE level IN ('error','warn')`), queries.join("\n"));
  params = new URL(page.url()).searchParams;
  assert.deepEqual(params.getAll("var-level"), ["error", "warn"]);
  page.off("request", listener);

  // A link with the variables reproduces the view.
  await page.reload();
  await panelOf("podtable").locator("tbody tr").filter({ hasText: "shop-2200" }).waitFor();
  assert.equal(await page.getByLabel("Namespace", { exact: true }).inputValue(), "shop");
});

test("panels are moved and resized on the grid, and the layout is saved", async () => {
  await openDashboard(varsId);
  await panelOf("podtable").locator("tbody tr").first().waitFor();
  await page.getByRole("button", { name: "Edit", exact: true }).click();
  // Drag "levels" (right of the table) to the left edge below the table.
  const header = panelOf("levels").locator(".panel-header");
  const from = await header.boundingBox();
  const grid = await page.getByTestId("grid").boundingBox();
  await page.mouse.move(from.x + 40, from.y + 10);
  await page.mouse.down();
  await page.mouse.move(grid.x + 40, from.y + 14 * 17 + 10, { steps: 8 });
  await page.mouse.up();
  await page.waitForFunction(() => document.querySelector("[data-panel-id=levels]")?.closest(".grid-item")?.getAttribute("data-layout")?.startsWith("0,14,"));
  // Resize it wider and taller by its corner.
  const item = page.locator(".grid-item").filter({ has: panelOf("levels") });
  const corner = await item.locator(".resize-corner").boundingBox();
  await page.mouse.move(corner.x + 5, corner.y + 5);
  await page.mouse.down();
  await page.mouse.move(corner.x + 5 + grid.width / 4, corner.y + 5 + 4 * 17, { steps: 8 });
  await page.mouse.up();
  await page.waitForFunction(() => {
    const [x, y, w, h] = document.querySelector("[data-panel-id=levels]").closest(".grid-item").getAttribute("data-layout").split(",").map(Number);
    return x === 0 && y === 14 && w === 144 && h === 18;
  });
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByRole("status").filter({ hasText: "Saved" }).waitFor();
  const saved = await api("GET", `/api/default/dashboards/${varsId}`);
  const levels = saved.body.v8.tabs[0].panels.find((p) => p.id === "levels");
  assert.deepEqual([levels.layout.x, levels.layout.y, levels.layout.w, levels.layout.h], [0, 14, 144, 18]);
});

test("saving over someone else's save is a conflict: reload or overwrite", async () => {
  await openDashboard(varsId);
  await panelOf("podtable").waitFor();
  await page.getByRole("button", { name: "Edit", exact: true }).click();
  await page.getByRole("button", { name: "Settings" }).click();
  await page.getByLabel("Dashboard title").fill("Variables (mine)");
  await page.getByRole("button", { name: "Apply" }).click();
  // Someone else saves in between.
  const theirs = (await api("GET", `/api/default/dashboards/${varsId}`)).body.v8;
  assert.equal((await api("PUT", `/api/default/dashboards/${varsId}`, { ...theirs, title: "Variables (theirs)" })).status, 200);
  await page.getByRole("button", { name: "Save", exact: true }).click();
  const conflict = page.getByRole("dialog", { name: "Someone else saved this dashboard" });
  await conflict.waitFor();
  await conflict.getByRole("button", { name: "Overwrite" }).click();
  await page.getByRole("status").filter({ hasText: "Saved" }).waitFor();
  assert.equal((await api("GET", `/api/default/dashboards/${varsId}`)).body.v8.title, "Variables (mine)");

  // Again, and this time reload their version.
  await page.getByRole("button", { name: "Edit", exact: true }).click();
  await page.getByRole("button", { name: "Settings" }).click();
  await page.getByLabel("Dashboard title").fill("Variables (mine again)");
  await page.getByRole("button", { name: "Apply" }).click();
  const now = (await api("GET", `/api/default/dashboards/${varsId}`)).body.v8;
  await api("PUT", `/api/default/dashboards/${varsId}`, { ...now, title: "Variables" });
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await conflict.getByRole("button", { name: "Reload" }).click();
  await page.locator(".dash-title").filter({ hasText: /^Variables$/ }).waitFor();
  assert.equal(await page.getByRole("button", { name: "Save", exact: true }).count(), 0, "out of edit mode");
});

const grafanaDashboard = {
  title: "Grafana pods",
  schemaVersion: 39,
  time: { from: "now-1h", to: "now" },
  templating: { list: [{ name: "namespace", type: "query", query: "label_values(app_memory, namespace)", refresh: 2, sort: 1 }] },
  panels: [
    {
      type: "timeseries",
      title: "Memory",
      gridPos: { x: 0, y: 0, w: 12, h: 8 },
      datasource: { type: "prometheus", uid: "prom" },
      fieldConfig: { defaults: { unit: "bytes" } },
      targets: [{ expr: 'sum by (pod) (app_memory{namespace="$namespace"})', legendFormat: "{{pod}}" }],
    },
    { type: "state-timeline", title: "States", gridPos: { x: 12, y: 0, w: 12, h: 8 }, targets: [{ expr: "up" }] },
  ],
};

test("import: an o2 file and a Grafana dashboard with its report; export re-imports", async () => {
  await page.goto(`${server.base}/dashboards?org=default`);
  // Export "Every panel" from the list.
  const row = page.getByTestId("dashboard-row").filter({ hasText: "Every panel" });
  const [download] = await Promise.all([page.waitForEvent("download"), row.getByRole("button", { name: "Export" }).click()]);
  assert.equal(download.suggestedFilename(), "Every panel.dashboard.json");
  const exported = JSON.parse(readFileSync(await download.path(), "utf8"));
  assert.equal(exported.owner, "");
  assert.equal(exported.tabs[0].panels.length, 14);

  await page.getByRole("button", { name: "Import" }).click();
  const dialog = page.getByRole("dialog", { name: "Import dashboards" });
  await dialog.getByLabel("Dashboard files").setInputFiles({
    name: "every.dashboard.json",
    mimeType: "application/json",
    buffer: Buffer.from(JSON.stringify({ ...exported, title: "Every panel (imported)" })),
  });
  await dialog.getByLabel("Dashboard JSON").fill(JSON.stringify(grafanaDashboard));
  await dialog.getByRole("button", { name: "Preview" }).click();
  const entries = dialog.getByTestId("import-entry");
  await entries.nth(1).waitFor();
  assert.match(await entries.nth(0).textContent(), /Every panel \(imported\).*o2 dashboard/);
  const report = entries.nth(1).getByTestId("import-report");
  assert.match(await report.textContent(), /1 panel converted, 1 dropped/);
  assert.match(await report.textContent(), /panel "States": type "state-timeline" has no kansoku equivalent/);
  await dialog.getByRole("button", { name: "Import 2 dashboards" }).click();
  await entries.nth(1).getByRole("link", { name: "Imported: open" }).waitFor();
  await entries.nth(0).getByRole("link", { name: "Imported: open" }).click();
  await shown("stat", "[data-testid=stat-value]");
  assert.equal(await panelOf("stat").getByTestId("stat-value").textContent(), "600 B");

  const found = await api("GET", "/api/default/dashboards?title=grafana%20pods");
  assert.equal(found.body.dashboards.length, 1);
  await openDashboard(found.body.dashboards[0].dashboard_id);
  await page.getByLabel("namespace", { exact: true }).waitFor();
  await shown("Panel_ID1", "[data-testid=chart] canvas");
});

test("the built-in Kubernetes dashboard opens, and a copy of it is saved", async () => {
  await page.goto(`${server.base}/dashboards?org=default&folder=builtin`);
  await page.getByText("Built-in dashboards are read-only").waitFor();
  const row = page.getByTestId("dashboard-row").filter({ hasText: "Kubernetes / Pods" });
  assert.equal(await row.getByRole("button", { name: "Delete Kubernetes / Pods" }).count(), 0);
  await row.getByRole("link", { name: "Kubernetes / Pods" }).click();
  await page.getByTestId("dashboard").waitFor();
  await page.getByTestId("row").first().waitFor();
  await page.getByLabel("Logs stream", { exact: true }).waitFor();
  assert.equal(await page.getByRole("button", { name: "Edit", exact: true }).count(), 0, "built-ins are not edited");
  // A row collapses the panels below it.
  const panels = await page.getByTestId("panel").count();
  await page.getByTestId("row").first().getByRole("button").first().click();
  await page.waitForFunction((n) => document.querySelectorAll("[data-testid=panel]").length < n, panels);
  await page.getByRole("button", { name: "Save a copy" }).click();
  const dialog = page.getByRole("dialog", { name: "Save a copy" });
  await dialog.getByLabel("Copy title").fill("My pods");
  await dialog.getByRole("button", { name: "Save copy" }).click();
  await page.locator(".dash-title").filter({ hasText: "My pods" }).waitFor();
  assert.notEqual(new URL(page.url()).searchParams.get("dashboard"), "builtin-kubernetes");
  await page.getByRole("button", { name: "Edit", exact: true }).waitFor();
  const copies = await api("GET", "/api/default/dashboards?folder=default");
  assert.ok(copies.body.dashboards.some((d) => d.title === "My pods"));
  // A row collapsed while editing is expanded again when leaving edit without saving.
  await page.getByTestId("panel").first().waitFor();
  const expanded = await page.getByTestId("panel").count();
  await page.getByRole("button", { name: "Edit", exact: true }).click();
  await page.getByTestId("row").first().getByRole("button").first().click();
  await page.waitForFunction((n) => document.querySelectorAll("[data-testid=panel]").length < n, expanded);
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Exit edit" }).click();
  await page.waitForFunction((n) => document.querySelectorAll("[data-testid=panel]").length === n, expanded);
  assert.equal(await page.getByTestId("row").first().getByRole("button").first().getAttribute("aria-expanded"), "true");
});

test("folders: created, a dashboard moved in, a non-empty folder not deleted, renamed", async () => {
  await page.goto(`${server.base}/dashboards?org=default`);
  await page.getByRole("button", { name: "New folder" }).click();
  await page.getByLabel("Folder name").fill("Team A");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("heading", { name: "Team A" }).waitFor();
  await page.getByRole("navigation", { name: "Folders" }).getByRole("button", { name: "📁 default", exact: true }).click();
  const row = page.getByTestId("dashboard-row").filter({ hasText: "My pods" });
  await row.getByLabel("Move My pods").selectOption({ label: "Team A" });
  await row.waitFor({ state: "detached" });
  await page.getByRole("navigation", { name: "Folders" }).getByRole("button", { name: "📁 Team A", exact: true }).click();
  await page.getByTestId("dashboard-row").filter({ hasText: "My pods" }).waitFor();
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Delete folder Team A" }).click();
  await page.getByRole("alert").filter({ hasText: /dashboard/ }).waitFor();
  await page.getByRole("button", { name: "Rename folder Team A" }).click();
  await page.getByLabel("Folder name").fill("Team B");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("navigation", { name: "Folders" }).getByRole("button", { name: "📁 Team B", exact: true }).waitFor();
  // Search finds dashboards in every folder.
  await page.getByLabel("Search dashboards").fill("pods");
  await page.getByRole("heading", { name: /title contains “pods”/ }).waitFor();
  const titles = await page.getByTestId("dashboard-row").locator("td:first-child a").allTextContents();
  assert.ok(titles.includes("My pods") && titles.includes("Kubernetes / Pods") && titles.includes("Grafana pods"), titles.join());
});

test("a viewer sees dashboards without edit controls", async () => {
  const created = await api("POST", "/api/default/users", { email: "viewer@example.com", password: "Viewerpass#123", role: "viewer" });
  assert.ok(created.status < 300, JSON.stringify(created.body));
  // The browser context is persistent (one cookie jar): sign in as the viewer in it.
  await browser.context.clearCookies();
  const viewerPage = await browser.context.newPage();
  await viewerPage.goto(`${server.base}/`);
  await viewerPage.getByLabel("E-mail").fill("viewer@example.com");
  await viewerPage.getByLabel("Password").fill("Viewerpass#123");
  await viewerPage.getByRole("button", { name: "Sign in" }).click();
  await viewerPage.getByRole("link", { name: "Dashboards" }).click();
  await viewerPage.getByTestId("dashboard-row").first().waitFor();
  for (const name of ["New dashboard", "New folder", "Import", "Duplicate", "Delete"]) {
    assert.equal(await viewerPage.getByRole("button", { name, exact: true }).count(), 0, name);
  }
  await viewerPage.getByTestId("dashboard-row").filter({ hasText: "Every panel" }).getByRole("link").first().click();
  await viewerPage.locator("[data-panel-id=stat] [data-testid=stat-value]").waitFor();
  assert.equal(await viewerPage.getByRole("button", { name: "Edit", exact: true }).count(), 0);
  await viewerPage.locator("[data-panel-id=stat]").getByRole("button", { name: /Menu of/ }).click();
  assert.deepEqual(await viewerPage.getByRole("menuitem").allTextContents(), ["View", "Explore"]);
  await viewerPage.close();
});
