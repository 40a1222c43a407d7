// Regenerates the README's screenshots (docs/screenshots/*.png) from the real server and data.
// Run by scripts/screenshots.sh.
import { mkdirSync } from "node:fs";
import { login, sampleRecords, sendTrace, startBrowser, startServer } from "./harness.mjs";

const out = new URL("../../docs/screenshots/", import.meta.url).pathname;

/** A dashboard of the sample logs: one SQL panel of several types. */
function logsDashboard() {
  const sql = (text, label) => ({
    query: text,
    vrlFunctionQuery: "",
    customQuery: true,
    fields: {
      stream: "app",
      stream_type: "logs",
      x: [],
      y: label ? [{ alias: "y_axis_1", label }] : [],
      z: [],
      breakdown: [],
      filter: { filterType: "group", logicalOperator: "AND", conditions: [] },
    },
    config: {},
  });
  const panel = (id, type, title, query, [x, y, w, h], config = {}, label = undefined) => ({
    id,
    type,
    title,
    description: "",
    queryType: "sql",
    queries: [sql(query, label)],
    config: { show_legends: true, ...config },
    layout: { x, y, w, h, i: x + y },
  });
  const byTime = (column, alias) => `SELECT histogram(_timestamp) AS "x_axis_1", ${column} AS "${alias}", count(*) AS "y_axis_1" FROM "app" GROUP BY "x_axis_1", "${alias}" ORDER BY "x_axis_1"`;
  return {
    version: 8,
    title: "Shop API",
    description: "Requests of the shop's API pods",
    tabs: [
      {
        tabId: "default",
        name: "Default",
        panels: [
          panel("errors", "metric", "Error lines", `SELECT count(*) AS "y_axis_1" FROM "app" WHERE level = 'error'`, [0, 0, 38, 12], { decimals: 0 }),
          panel("levels", "stacked", "Records by level", byTime("level", "breakdown_1"), [38, 0, 96, 12]),
          panel("namespaces", "donut", "Records by namespace", `SELECT kubernetes_namespace_name AS "x_axis_1", count(*) AS "y_axis_1" FROM "app" GROUP BY "x_axis_1"`, [134, 0, 58, 12]),
          panel("pods", "line", "Records by pod", byTime("kubernetes_pod_name", "breakdown_1"), [0, 12, 96, 14], { legend_calcs: ["sum"] }),
          panel("status", "area", "Average status", `SELECT histogram(_timestamp) AS "x_axis_1", avg(status) AS "y_axis_1" FROM "app" GROUP BY "x_axis_1" ORDER BY "x_axis_1"`, [96, 12, 96, 14], { decimals: 0 }, "avg(status)"),
          panel("nodes", "h-bar", "Records by node", `SELECT node_hostname AS "x_axis_1", count(*) AS "y_axis_1" FROM "app" GROUP BY "x_axis_1" ORDER BY "y_axis_1" DESC`, [0, 26, 64, 14], {}, "records"),
          panel("latest", "logs", "Latest errors", `SELECT * FROM "app" WHERE level = 'error'`, [64, 26, 128, 14]),
        ],
      },
    ],
    variables: { list: [], showDynamicFilters: false },
    defaultDatetimeDuration: { type: "relative", relativeTimePeriod: "15m", startTime: 0, endTime: 0 },
  };
}

mkdirSync(out, { recursive: true });
const server = await startServer();
const browser = await startBrowser({ width: 1440, height: 820 });
try {
  await server.ingest("app", sampleRecords(1200, 14));
  await server.ingest("nginx", sampleRecords(200, 14));
  const page = await browser.context.newPage();
  await login(page, server.base);
  await page.getByLabel("Home time range").selectOption("now-1h");
  await page.getByRole("region", { name: "Ingest volume" }).getByTestId("ingest-total").filter({ hasText: "last hour" }).waitFor();
  await page.getByRole("region", { name: "Errors over time" }).getByTestId("errors-total").waitFor();
  await page.screenshot({ path: `${out}home.png` });
  await page.goto(`${server.base}/logs?org=default&stream=app&from=now-15m&to=now`);
  await page.locator("[data-testid=histogram] canvas").waitFor();
  await page.locator("[data-group=kubernetes] > button").click();
  await page.locator("[data-field=level]").click();
  await page.getByTestId("top-values-level").locator("li").first().waitFor();
  await page.screenshot({ path: `${out}logs.png` });
  await page.goto(`${server.base}/logs?org=default&stream=app&from=now-15m&to=now&viz=metric:status:avg:kubernetes_pod_name`);
  await page.locator("[data-testid=visualize-chart] canvas").waitFor();
  await page.locator("[data-field=status]").click();
  await page.getByTestId("top-values-status").locator("li").first().waitFor();
  await page.getByRole("button", { name: "Add to dashboard" }).click();
  await page.getByRole("group", { name: "Add to dashboard" }).getByLabel("Dashboard", { exact: true }).waitFor();
  await page.screenshot({ path: `${out}visualize.png` });
  await page.locator(".results-row").nth(2).click();
  await page.getByRole("complementary", { name: "Record" }).waitFor();
  await page.screenshot({ path: `${out}record.png` });
  await page.getByRole("link", { name: "Streams" }).click();
  await page.getByRole("button", { name: "Details of app" }).click();
  await page.getByRole("region", { name: "Stream app" }).getByRole("cell", { name: "node_hostname", exact: true }).waitFor();
  await page.screenshot({ path: `${out}streams.png` });
  const traceId = await sendTrace(server.base, server.auth);
  await page.goto(`${server.base}/traces?org=default&stream=default&trace=${traceId}`);
  await page.getByRole("tree", { name: "Waterfall" }).locator("[data-span='charge card']").click();
  await page.getByRole("complementary", { name: "Span" }).waitFor();
  await page.screenshot({ path: `${out}trace.png` });
  await page.goto(`${server.base}/alerts?org=default&tab=alerts&edit=`);
  await page.getByLabel("Alert name").fill("api errors");
  await page.getByLabel("Stream").fill("app");
  await page.getByRole("button", { name: "Add condition" }).click();
  await page.getByLabel("Condition 1 field").fill("level");
  await page.getByLabel("Condition 1 value").fill("error");
  await page.getByLabel("Threshold").fill("50");
  await page.getByLabel("Preview").getByText(/— it would/).waitFor();
  await page.screenshot({ path: `${out}alert-editor.png` });
  const created = await fetch(`${server.base}/api/default/dashboards?folder=default`, {
    method: "POST",
    headers: { authorization: server.auth, "content-type": "application/json" },
    body: JSON.stringify(logsDashboard()),
  });
  if (created.status !== 201) throw new Error(`dashboard not created: ${await created.text()}`);
  const { v8 } = await created.json();
  await page.goto(`${server.base}/dashboards/view?org=default&dashboard=${v8.dashboardId}`);
  for (const id of ["levels", "pods", "status"]) await page.locator(`[data-panel-id=${id}] [data-testid=chart] canvas`).waitFor();
  await page.locator("[data-panel-id=errors] [data-testid=stat-value]").waitFor();
  await page.locator("[data-panel-id=latest] .dash-log").first().waitFor();
  await page.locator("[data-panel-id=nodes] [data-testid=chart] canvas").waitFor();
  await page.locator("[data-panel-id=namespaces] [data-testid=pie] path").first().waitFor();
  // The shared tooltip: hovering one chart reads out every chart at that time.
  const over = await page.locator("[data-panel-id=pods] .u-over").boundingBox();
  await page.mouse.move(over.x + over.width * 0.7, over.y + over.height * 0.4);
  await page.locator("[data-panel-id=levels] [role=tooltip]").waitFor();
  await page.screenshot({ path: `${out}dashboard.png` });
  console.log(`screenshots written to ${out}`);
} finally {
  await browser.close();
  await server.stop();
}
