// End-to-end tests of the logs page as a log viewer (log line, level colours, chips, grouped
// fields, message field), the home page (ingest volume over time, errors), landing on the right stream, saved views and query
// history, Visualize with "Add to dashboard", and the new user's papercuts (dotted field names,
// an error shown alone, "1 hit").
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { login, PASSWORD, ROOT, runQuery, startBrowser, startServer } from "./harness.mjs";

let server;
let browser;
let page;

const FUNCS = [
  ["main.main", 40],
  ["main.work", 30],
  ["main.tick", 20],
  ["worker.run", 12],
  ["http.serve", 8],
  ["db.query", 6],
  ["cache.get", 4],
];
const GO_COUNT = 120;
const K8S_COUNT = 30;

/** Seed 002: logrus JSON lines of a Go app (a numeric `count`), time in JST as the app writes it. */
function goRecords() {
  const now = Date.now();
  const funcs = FUNCS.flatMap(([name, n]) => Array(n).fill(name));
  return funcs.map((func, i) => ({
    count: i % 50,
    file: "main.go:16",
    func,
    level: i % 10 === 0 ? "error" : i % 4 === 0 ? "warning" : "info",
    msg: "sample log",
    text_sample: "fooooo",
    time: new Date(now - 1000 - i * 4000 + 9 * 3600_000).toISOString().replace("Z", "+09:00"),
  }));
}

/** Fluent Bit's Kubernetes shape: the line in `log`, metadata nested under `kubernetes`. */
function k8sRecords() {
  const now = Date.now();
  const levels = ["error", "info", "warn"];
  const records = [];
  for (let i = 0; i < K8S_COUNT; i++) {
    const level = levels[i % 3];
    records.push({
      "@timestamp": new Date(now - 30_000 - i * 10_000).toISOString(),
      log: `GET /api/orders/${i} ${level === "error" ? "500 upstream timeout" : "200 ok"}`,
      stream: "stdout",
      level,
      kubernetes: {
        pod_name: `api-${i % 3}`,
        namespace_name: i % 2 ? "shop" : "payments",
        container_name: "api",
        host: "ip-10-2-50-35.us-east-2.compute.internal",
        labels: { app: "api", team: "orders", tier: "backend" },
      },
    });
  }
  records.push({
    "@timestamp": new Date(now - 5 * 60_000).toISOString(),
    log: "payment declined only-once-7731",
    stream: "stderr",
    level: "error",
    kubernetes: { pod_name: "payments-9", namespace_name: "payments", container_name: "payments", labels: { app: "payments", team: "pay", tier: "backend" } },
  });
  return records;
}

const api = async (method, path, body) => {
  const response = await fetch(`${server.base}${path}`, {
    method,
    headers: { authorization: server.auth, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
};

const hitCount = () => page.getByTestId("hit-count");
const waitForHits = (text) => page.waitForFunction((t) => document.querySelector("[data-testid=hit-count]")?.textContent === t, text);
const param = (name) => new URL(page.url()).searchParams.get(name);

before(async () => {
  server = await startServer();
  await server.ingest("audit", [{ "@timestamp": new Date(Date.now() - 10 * 60_000).toISOString(), message: "an old audit line", level: "info" }]);
  await server.ingest("k8s", k8sRecords());
  await server.ingest("golang", goRecords());
  browser = await startBrowser();
  page = await browser.context.newPage();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("sign-in lands on the home page with ingest volume, errors and links", async () => {
  await login(page, server.base);
  assert.equal(await page.getByRole("link", { name: "Home", exact: true }).getAttribute("class"), "active");
  const volume = page.getByRole("region", { name: "Ingest volume" });
  const k8s = volume.locator("tr[data-stream=k8s]");
  await k8s.waitFor();
  assert.equal(await k8s.getByTestId("records").textContent(), String(K8S_COUNT + 1));
  assert.equal(await volume.locator("tr[data-stream=golang]").getByTestId("records").textContent(), String(GO_COUNT));
  assert.match(await k8s.textContent(), /KiB|B/);
  // Most records first, with a bar each.
  assert.equal(await volume.locator(".home-streams tbody tr").first().getAttribute("data-stream"), "golang");
  assert.equal(await volume.locator(".volume-bar").count(), 3);
  // Records over time of the busiest streams, counted per interval: every ingested record.
  const total = volume.getByTestId("ingest-total");
  await total.waitFor();
  assert.equal(
    await total.textContent(),
    `${GO_COUNT + K8S_COUNT + 2} records in the last 24 hours: golang (${GO_COUNT}), k8s (${K8S_COUNT + 1}), audit (1)`,
  );
  assert.equal(await volume.getByTestId("visualize-chart").getAttribute("data-series"), "golang|k8s|audit");
  // The range applies to both charts; the records are from the last 10 minutes.
  await page.getByLabel("Home time range").selectOption("now-1h");
  await total.filter({ hasText: "in the last hour" }).waitFor();
  assert.match(await total.textContent(), new RegExp(`^${GO_COUNT + K8S_COUNT + 2} records in the last hour: golang \\(${GO_COUNT}\\)`));
  // Errors: k8s has 11 error lines, golang 12 (every tenth), audit none.
  const errors = page.getByRole("region", { name: "Errors over time" });
  await errors.getByTestId("errors-total").waitFor();
  assert.match(await errors.getByTestId("errors-total").textContent(), /^23 error records in golang \(12\), k8s \(11\)/);
  assert.equal(await errors.locator("[data-testid=visualize-chart] canvas").count(), 1);
  const links = page.getByRole("region", { name: "Quick links" });
  for (const name of ["k8s", "golang", "audit", "Trace search", "Metric explorer", "Dashboard list", "Alert rules"]) {
    assert.equal(await links.getByRole("link", { name, exact: true }).count(), 1, name);
  }
});

test("the logs page opens the stream with the most recent data, then the last one looked at", async () => {
  await page.getByRole("link", { name: "Logs", exact: true }).click();
  await page.waitForFunction(() => new URL(location.href).searchParams.get("stream") === "golang");
  assert.equal(await page.getByLabel("Stream", { exact: true }).inputValue(), "golang", "most recent data, not the alphabetically first (audit)");
  await page.getByLabel("Stream", { exact: true }).selectOption("k8s");
  await waitForHits(`${K8S_COUNT + 1} hits`);
  await page.getByRole("link", { name: "Home", exact: true }).click();
  await page.getByRole("region", { name: "Ingest volume" }).waitFor();
  await page.getByRole("link", { name: "Logs", exact: true }).click();
  await page.waitForFunction(() => new URL(location.href).searchParams.get("stream") === "k8s");
  // A fresh page (same browser storage) remembers it too.
  const fresh = await browser.context.newPage();
  await fresh.goto(`${server.base}/logs?org=default`);
  await fresh.waitForFunction(() => new URL(location.href).searchParams.get("stream") === "k8s");
  await fresh.close();
});

test("a row reads like a log line: time, coloured level, message, chips", async () => {
  await waitForHits(`${K8S_COUNT + 1} hits`);
  const headers = await page.locator(".results-header [role=columnheader]").allTextContents();
  assert.deepEqual(headers, ["_timestamp", "level", "log"]);
  const first = page.locator(".results-row").first();
  assert.equal(await first.getByTestId("message").textContent(), "GET /api/orders/0 500 upstream timeout");
  const level = first.locator(".level-cell");
  assert.equal(await level.textContent(), "error");
  assert.equal(await level.evaluate((e) => getComputedStyle(e).color), "rgb(211, 47, 47)");
  assert.equal(await first.locator(".level-edge").evaluate((e) => getComputedStyle(e).backgroundColor), "rgb(211, 47, 47)");
  const second = page.locator(".results-row").nth(1);
  assert.equal(await second.locator(".level-cell").textContent(), "info");
  assert.equal(await second.locator(".level-edge").evaluate((e) => getComputedStyle(e).backgroundColor), "rgb(47, 111, 222)");
  assert.equal(await page.locator(".results-row").nth(2).getAttribute("data-level"), "warn");
  const chips = await first.locator(".chip").allTextContents();
  assert.ok(chips.includes("kubernetes_pod_name=api-0"), chips.join(" "));
  assert.ok(chips.includes("kubernetes_labels_team=orders"));
  assert.ok(chips.includes("stream=stdout"));
  assert.ok(!chips.some((c) => c.startsWith("log=") || c.startsWith("level=") || c.startsWith("_timestamp=")));
  // The placeholder names this stream's fields, not a made-up `pod`.
  const placeholder = await page.locator(".cm-placeholder").textContent();
  assert.match(placeholder, /level=error/);
  assert.match(placeholder, /kubernetes_namespace_name:/);
  assert.doesNotMatch(placeholder, /\bpod:/);
});

test("the field sidebar groups kubernetes_* fields and shows full names on hover", async () => {
  const sidebar = page.getByRole("complementary", { name: "Fields" });
  const group = sidebar.locator("[data-group=kubernetes] > button");
  assert.match(await group.textContent(), /kubernetes\s*7/);
  assert.equal(await group.getAttribute("aria-expanded"), "false");
  assert.equal(await sidebar.locator("[data-field=kubernetes_pod_name]").count(), 0);
  await group.click();
  const pod = sidebar.locator("[data-field=kubernetes_pod_name]");
  assert.equal(await pod.textContent(), "pod_name");
  assert.equal(await pod.getAttribute("title"), "kubernetes_pod_name");
  await pod.hover();
  assert.equal(await page.getByRole("tooltip").textContent(), "kubernetes_pod_name");
  const labels = sidebar.locator("[data-group=kubernetes_labels] > button");
  assert.match(await labels.textContent(), /labels\s*3/);
  await labels.click();
  assert.equal(await sidebar.locator("[data-field=kubernetes_labels_team]").textContent(), "team");
  // Searching opens every group.
  await group.click();
  await sidebar.getByLabel("Search field names").fill("team");
  await sidebar.locator("[data-field=kubernetes_labels_team]").waitFor();
  await sidebar.getByLabel("Search field names").fill("");
});

test("filters take field names as sent (dotted) and as stored", async () => {
  await runQuery(page, "kubernetes.pod_name:api-1");
  await waitForHits("10 hits");
  assert.equal(param("q"), "kubernetes.pod_name:api-1");
  await runQuery(page, "kubernetes_pod_name:api-1 level=info");
  await waitForHits("10 hits");
  await runQuery(page, "Kubernetes.Labels.App=payments");
  await waitForHits("1 hit");
});

test("one hit is '1 hit', and a query error is shown alone", async () => {
  await runQuery(page, "only-once-7731");
  await waitForHits("1 hit");
  assert.equal(await page.locator(".results-row").count(), 1);
  await runQuery(page, "nosuchfield=1");
  const alert = page.locator(".query-error");
  await alert.filter({ hasText: /nosuchfield/ }).waitFor();
  assert.equal(await hitCount().textContent(), "");
  assert.equal(await page.getByTestId("histogram").count(), 0);
  assert.equal(await page.getByText("No records in this time range.").count(), 0);
  assert.equal(await page.getByText(/No histogram/).count(), 0);
  await runQuery(page, 'level="oops');
  await alert.filter({ hasText: /unterminated quote/ }).waitFor();
  assert.equal(await page.getByText("No records in this time range.").count(), 0);
  assert.equal(await page.getByTestId("histogram").count(), 0);
  await runQuery(page, "");
  await waitForHits(`${K8S_COUNT + 1} hits`);
});

test("the query history reruns a past query", async () => {
  await page.getByRole("button", { name: "History ▾" }).click();
  const history = page.getByRole("dialog", { name: "Query history" });
  const entries = await history.getByTestId("history-entry").locator("code").allTextContents();
  // Newest first; failed queries (and the empty one) are not history.
  assert.deepEqual(entries, ["only-once-7731", "Kubernetes.Labels.App=payments", "kubernetes_pod_name:api-1 level=info", "kubernetes.pod_name:api-1"]);
  await history.getByTestId("history-entry").filter({ hasText: "kubernetes.pod_name:api-1" }).click();
  await waitForHits("10 hits");
  assert.equal(param("q"), "kubernetes.pod_name:api-1");
  assert.equal(await page.locator(".cm-content").textContent(), "kubernetes.pod_name:api-1");
});

test("a saved view keeps stream, query, columns and time range; it is renamed and deleted", async () => {
  await runQuery(page, "level=error");
  await waitForHits("11 hits");
  await page.getByLabel("Search field names").fill("pod_name");
  await page.getByRole("button", { name: "Add column kubernetes_pod_name" }).click();
  await page.getByLabel("Search field names").fill("");
  await page.getByRole("button", { name: "Time range" }).click();
  await page.getByRole("button", { name: "Last 1 hour" }).click();
  await waitForHits("11 hits");
  await page.getByRole("button", { name: "Saved views ▾" }).click();
  const views = page.getByRole("dialog", { name: "Saved views" });
  await views.getByLabel("View name").fill("k8s errors");
  await views.getByRole("button", { name: "Save current view" }).click();
  await views.locator("li[data-view='k8s errors']").waitFor();
  const stored = await api("GET", "/api/default/savedviews");
  assert.equal(stored.body.views.length, 1);
  assert.deepEqual(stored.body.views[0].data, {
    kansoku_view: 1,
    stream: "k8s",
    mode: "filter",
    query: "level=error",
    from: "now-1h",
    to: "now",
    columns: ["kubernetes_pod_name"],
    widths: {},
  });
  await page.getByRole("button", { name: "Saved views ▾" }).click();
  // Somewhere else entirely…
  await page.goto(`${server.base}/logs?org=default&stream=golang`);
  await waitForHits(`${GO_COUNT} hits`);
  // …and back through the view.
  await page.getByRole("button", { name: "Saved views ▾" }).click();
  await views.getByRole("button", { name: "k8s errors", exact: true }).click();
  await waitForHits("11 hits");
  assert.equal(param("stream"), "k8s");
  assert.equal(param("q"), "level=error");
  assert.equal(param("cols"), "kubernetes_pod_name");
  assert.equal(param("from"), "now-1h");
  assert.equal(await page.locator(".header-cell[data-column=kubernetes_pod_name]").count(), 1);
  await page.getByRole("button", { name: "Saved views ▾" }).click();
  await views.getByRole("button", { name: "Rename k8s errors" }).click();
  await views.getByLabel("New name").fill("errors on k8s");
  await views.getByRole("button", { name: "Save name" }).click();
  await views.locator("li[data-view='errors on k8s']").waitFor();
  assert.equal((await api("GET", "/api/default/savedviews")).body.views[0].view_name, "errors on k8s");
  await views.getByRole("button", { name: "Delete errors on k8s" }).click();
  await views.getByRole("button", { name: "Confirm delete" }).click();
  await views.getByText("No saved views yet.", { exact: false }).waitFor();
  assert.equal((await api("GET", "/api/default/savedviews")).body.views.length, 0);
  await page.getByRole("button", { name: "Saved views ▾" }).click();
});

test("the message field is chosen in the sidebar and saved in the stream's settings", async () => {
  await page.goto(`${server.base}/logs?org=default&stream=k8s`);
  await waitForHits(`${K8S_COUNT + 1} hits`);
  const select = page.getByLabel("Message field");
  assert.equal(await select.inputValue(), "");
  assert.match(await select.locator("option").first().textContent(), /automatic \(log\)/);
  await select.selectOption("kubernetes_container_name");
  await page.waitForFunction(() => [...document.querySelectorAll(".results-header [role=columnheader]")].some((h) => h.textContent === "kubernetes_container_name"));
  assert.equal(await page.locator(".results-row").first().getByTestId("message").textContent(), "api");
  const schema = await api("GET", "/api/default/streams/k8s/schema");
  assert.equal(schema.body.settings.message_field, "kubernetes_container_name");
  await select.selectOption("");
  await page.waitForFunction(() => [...document.querySelectorAll(".results-header [role=columnheader]")].some((h) => h.textContent === "log"));
  assert.equal((await api("GET", "/api/default/streams/k8s/schema")).body.settings.message_field, "");
});

test("Visualize a number split by a keyword, then add it to a new dashboard", async () => {
  await page.goto(`${server.base}/logs?org=default&stream=golang`);
  await waitForHits(`${GO_COUNT} hits`);
  // Seed 002: the Go app's `count`, in two clicks.
  await page.locator("[data-field=count]").click();
  await page.getByRole("button", { name: "Visualize count" }).click();
  const chart = page.getByTestId("visualize");
  assert.equal(await chart.getByTestId("visualize-title").textContent(), "Average of count over time");
  await chart.locator("[data-testid=visualize-chart] canvas").waitFor();
  assert.equal(await chart.getByTestId("visualize-chart").getAttribute("data-series"), "avg(count)");
  assert.ok(Number(await chart.getByTestId("visualize-chart").getAttribute("data-points")) >= 5);
  assert.equal(param("viz"), "metric:count:avg");
  // Split by func: its top 5 values and Other.
  await chart.getByLabel("Split by").selectOption("func");
  await page.waitForFunction(() => document.querySelector("[data-testid=visualize-chart]")?.dataset.series?.includes("Other"));
  const series = (await chart.getByTestId("visualize-chart").getAttribute("data-series")).split("|");
  assert.deepEqual([...series].sort(), ["Other", "http.serve", "main.main", "main.tick", "main.work", "worker.run"]);
  assert.equal(series[series.length - 1], "Other");
  await chart.getByLabel("Aggregation").selectOption("max");
  await page.waitForFunction(() => new URL(location.href).searchParams.get("viz") === "metric:count:max:func");
  assert.equal(await chart.getByTestId("visualize-title").textContent(), "Maximum of count over time by func");
  // The chart carries the filter.
  await runQuery(page, "level=info");
  await waitForHits("84 hits");
  await chart.locator("summary").click();
  assert.match(await chart.locator(".visualize-sql code").textContent(), /"level" = 'info'/);

  await chart.getByRole("button", { name: "Add to dashboard" }).click();
  const add = page.getByRole("group", { name: "Add to dashboard" });
  assert.equal(await add.getByLabel("Dashboard", { exact: true }).inputValue(), "\u0000new");
  await add.getByLabel("New dashboard title").fill("Go app");
  await add.getByRole("button", { name: "Add panel" }).click();
  await add.getByRole("status").filter({ hasText: "Added to “Go app”." }).waitFor();
  const list = await api("GET", "/api/default/dashboards?title=Go%20app");
  assert.equal(list.body.dashboards.length, 1);
  const dashboard = await api("GET", `/api/default/dashboards/${list.body.dashboards[0].dashboard_id}`);
  const panels = dashboard.body.v8.tabs[0].panels;
  assert.equal(panels.length, 1);
  const panel = panels[0];
  assert.equal(panel.type, "line");
  assert.equal(panel.queryType, "sql");
  assert.equal(panel.title, "Maximum of count over time by func");
  assert.deepEqual(panel.layout, { x: 0, y: 0, w: 96, h: 18, i: 1 });
  const query = panel.queries[0];
  assert.equal(query.fields.stream, "golang");
  assert.equal(query.fields.stream_type, "logs");
  assert.match(query.query, /histogram\(base\._timestamp\) AS x_axis_1/);
  assert.match(query.query, /AS breakdown_1, max\(base\."count"\) AS y_axis_1/);
  assert.match(query.query, /"level" = 'info'/);
  assert.equal(dashboard.body.v8.defaultDatetimeDuration.relativeTimePeriod, "15m");
  // The panel's SQL runs as it is.
  const now = Date.now() * 1000;
  const run = await api("POST", "/api/default/_search", { query: { sql: query.query, start_time: now - 900e6, end_time: now, size: 1000 } });
  assert.equal(run.status, 200);
  assert.ok(run.body.hits.some((h) => h.breakdown_1 === "Other"));
});

test("Visualize a keyword's top values and append it below, retrying after a conflict", async () => {
  await page.getByRole("button", { name: "Close chart" }).click();
  await runQuery(page, "");
  await waitForHits(`${GO_COUNT} hits`);
  await page.locator("[data-field=level]").click();
  await page.getByRole("button", { name: "Visualize level", exact: true }).click();
  const chart = page.getByTestId("visualize");
  await page.waitForFunction(() => document.querySelector("[data-testid=visualize-chart]")?.dataset.series === "info|warning|error");
  assert.equal(await chart.getByTestId("visualize-title").textContent(), "Count of top 5 values of level");
  assert.match(await chart.locator(".visualize-table").textContent(), /info84.*warning24.*error12/);
  await chart.getByRole("radio", { name: "Over time" }).click();
  await page.waitForFunction(() => new URL(location.href).searchParams.get("viz") === "terms-time:level");
  await page.waitForFunction(() => document.querySelector("[data-testid=visualize-chart]")?.dataset.series === "info|warning|error");
  await chart.getByRole("radio", { name: "Top values" }).click();
  await page.waitForFunction(() => document.querySelector("[data-testid=visualize-chart]")?.dataset.series === "info|warning|error");

  // Someone saves the dashboard between our read and our write: the first PUT answers 409.
  let conflicts = 0;
  const saves = (url) => url.pathname.startsWith("/api/default/dashboards/") && url.searchParams.has("hash");
  await page.route(saves, async (route) => {
    if (route.request().method() === "PUT" && conflicts === 0) {
      conflicts++;
      await route.fulfill({ status: 409, contentType: "application/json", body: JSON.stringify({ code: 409, message: "the dashboard was changed" }) });
      return;
    }
    await route.continue();
  });
  await chart.getByRole("button", { name: "Add to dashboard" }).click();
  const add = page.getByRole("group", { name: "Add to dashboard" });
  await add.getByLabel("Dashboard", { exact: true }).locator("option", { hasText: "Go app" }).waitFor({ state: "attached" });
  const id = (await api("GET", "/api/default/dashboards?title=Go%20app")).body.dashboards[0].dashboard_id;
  await add.getByLabel("Dashboard", { exact: true }).selectOption(id);
  await add.getByRole("button", { name: "Add panel" }).click();
  await add.getByRole("alert").filter({ hasText: "was saved by someone else" }).waitFor();
  assert.equal((await api("GET", `/api/default/dashboards/${id}`)).body.v8.tabs[0].panels.length, 1, "nothing changed");
  await add.getByRole("button", { name: "Reload and add again" }).click();
  await add.getByRole("status").filter({ hasText: "Added to “Go app”." }).waitFor();
  await page.unroute(saves);
  const panels = (await api("GET", `/api/default/dashboards/${id}`)).body.v8.tabs[0].panels;
  assert.equal(panels.length, 2);
  assert.equal(panels[1].type, "bar");
  assert.deepEqual(panels[1].layout, { x: 0, y: 18, w: 96, h: 18, i: 2 });
  assert.notEqual(panels[1].id, panels[0].id);
  assert.match(panels[1].queries[0].query, /AS x_axis_1, count\(\*\) AS y_axis_1/);
  assert.equal(await add.getByRole("link", { name: "Open dashboard" }).getAttribute("href"), `/dashboards/view?org=default&dashboard=${id}`);
});

test("a viewer may not change the message field and is told so", async () => {
  const created = await api("POST", "/api/default/users", { email: "viewer@example.com", password: "Viewerpass#123", role: "viewer" });
  assert.ok(created.status === 200 || created.status === 201, JSON.stringify(created));
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("E-mail").fill("viewer@example.com");
  await page.getByLabel("Password").fill("Viewerpass#123");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("link", { name: "Logs", exact: true }).click();
  // The viewer's own memory: root's last stream (k8s) is not theirs.
  await page.waitForFunction(() => new URL(location.href).searchParams.get("stream") === "golang");
  await page.getByLabel("Message field").selectOption("func");
  await page.getByRole("alert").filter({ hasText: /Only editors and admins can change the message field/ }).waitFor();
  assert.equal((await api("GET", "/api/default/streams/golang/schema")).body.settings.message_field ?? "", "");
  await page.getByRole("button", { name: "Sign out" }).click();
  assert.ok(ROOT && PASSWORD);
});
