// End-to-end tests of the metrics explorer: metrics sent as OTLP/JSON (a counter and a gauge
// per pod over the last 30 minutes), found in the metric list with their metadata, narrowed with
// the label browser, queried with completion, validation, a chart and a table, and reproduced
// from the URL.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { login, runQuery, startBrowser, startServer } from "./harness.mjs";

let server;
let browser;
let page;

/** OTLP/JSON: per pod, a monotonic cumulative sum growing `perSecond` per second and a gauge,
 * one point a minute over the last 30 minutes. */
function otlpMetrics() {
  const now = Date.now();
  const pods = [
    { pod: "api-1", perSecond: 1 },
    { pod: "api-2", perSecond: 2 },
  ];
  const points = (value) =>
    pods.flatMap(({ pod, perSecond }) =>
      Array.from({ length: 31 }, (_, i) => ({
        timeUnixNano: String(BigInt(now - (30 - i) * 60_000) * 1_000_000n),
        asDouble: value(perSecond, i),
        attributes: [{ key: "k8s.pod.name", value: { stringValue: pod } }],
      })),
    );
  return {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: "shop" } }] },
        scopeMetrics: [
          {
            metrics: [
              {
                name: "http.server.requests",
                description: "HTTP requests served.",
                sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: points((perSecond, i) => perSecond * 60 * i) },
              },
              {
                name: "queue.depth",
                description: "Items waiting in the queue.",
                gauge: { dataPoints: points((perSecond, i) => perSecond * 10 + (i % 3)) },
              },
            ],
          },
        ],
      },
    ],
  };
}

before(async () => {
  server = await startServer();
  const response = await fetch(`${server.base}/api/default/v1/metrics`, {
    method: "POST",
    headers: { authorization: server.auth, "content-type": "application/json" },
    body: JSON.stringify(otlpMetrics()),
  });
  assert.equal(response.status, 200, await response.text());
  browser = await startBrowser();
  page = await browser.context.newPage();
  await login(page, server.base);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const editorText = () => page.locator(".cm-content").textContent();
const chart = (series) => page.locator(`[data-testid=series-chart][data-series='${series}']`);

/** Clears the editor and types `text` key by key (so completion and closing brackets react). */
async function typeQuery(text) {
  await page.locator(".cm-content").click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.type(text);
}

/** Waits until the completion list shows `names` (exactly those, in order, when `exact`). */
async function waitForOptions(names, exact = false) {
  await page.waitForFunction(
    ([want, only]) => {
      const shown = [...document.querySelectorAll(".cm-tooltip-autocomplete li .cm-completionLabel")].map((l) => l.textContent);
      return only ? JSON.stringify(shown) === JSON.stringify(want) : want.every((name) => shown.includes(name));
    },
    [names, exact],
  );
}

test("the metric list shows every metric with its type and help, narrowed by typing", async () => {
  await page.getByRole("link", { name: "Metrics", exact: true }).click();
  const counter = page.locator("[data-metric=http_server_requests_total]");
  await counter.waitFor();
  assert.match(await counter.textContent(), /counter/);
  assert.match(await counter.textContent(), /HTTP requests served\./);
  await page.getByLabel("Search metrics").fill("queue");
  await counter.waitFor({ state: "detached" });
  const gauge = page.locator("[data-metric=queue_depth]");
  assert.match(await gauge.textContent(), /gauge/);
  assert.match(await gauge.textContent(), /Items waiting in the queue\./);
  await page.getByLabel("Search metrics").fill("");
});

test("a metric's click queries it, and the label browser adds a matcher", async () => {
  await page.locator("[data-metric=http_server_requests_total]").click();
  await chart(2).waitFor();
  assert.equal(await editorText(), "http_server_requests_total");
  assert.equal(new URL(page.url()).searchParams.get("q"), "http_server_requests_total");
  const labels = page.getByRole("region", { name: "Labels" });
  await labels.getByText("http_server_requests_total{}").waitFor();
  await labels.locator("[data-label=k8s_pod_name]").click();
  const values = page.getByTestId("label-values-k8s_pod_name");
  await values.getByText("2 values").waitFor();
  await values.getByRole("button", { name: "api-1" }).click();
  await chart(1).waitFor();
  assert.equal(await editorText(), 'http_server_requests_total{k8s_pod_name="api-1"}');
  assert.equal(new URL(page.url()).searchParams.get("q"), 'http_server_requests_total{k8s_pod_name="api-1"}');
  // The values of a label leave out its own matcher, so another value replaces it.
  await values.getByRole("button", { name: "api-2" }).click();
  await page.waitForFunction(() => document.querySelector(".cm-content")?.textContent?.includes("api-2"));
  assert.equal(await editorText(), 'http_server_requests_total{k8s_pod_name="api-2"}');
});

test("completion offers metric names, functions and label values", async () => {
  await typeQuery("h");
  await waitForOptions(["http_server_requests_total", "histogram_quantile"]);
  await typeQuery("su");
  await waitForOptions(["sum", "sum_over_time"]);
  await typeQuery('queue_depth{k8s_pod_name="');
  await waitForOptions(["api-1", "api-2"], true);
  await page.locator(".cm-tooltip-autocomplete li").filter({ hasText: "api-2" }).click();
  assert.equal(await editorText(), 'queue_depth{k8s_pod_name="api-2"}');
  await typeQuery("queue_depth{");
  await waitForOptions(["job", "k8s_pod_name"]);
  await page.keyboard.press("Escape");
});

test("a query that does not parse shows the error as you type", async () => {
  await typeQuery("rate(http_server_requests_total[5m]");
  // Closing brackets are typed for you: remove the `)` it added.
  await page.keyboard.press("Delete");
  await page.keyboard.press("Escape");
  assert.equal(await editorText(), "rate(http_server_requests_total[5m]");
  const error = page.getByTestId("parse-error");
  await error.waitFor();
  assert.match(await error.textContent(), /parse error/);
  await page.locator(".query-editor.invalid").waitFor();
  await page.keyboard.type(")");
  await error.waitFor({ state: "detached" });
  assert.equal(await page.locator(".query-editor.invalid").count(), 0);
});

test("a rate is charted with a legend, values at the cursor and the step used", async () => {
  await runQuery(page, "rate(http_server_requests_total[5m])");
  await chart(2).waitFor();
  const legend = page.getByRole("list", { name: "Legend" });
  assert.match(await legend.textContent(), /\{job="shop", k8s_pod_name="api-1", service_name="shop"\}/);
  assert.match(await page.getByTestId("step-used").textContent(), /^step \d+s$/);
  assert.equal(await page.getByTestId("result-summary").textContent(), "2 series");
  const box = await page.locator("[data-testid=series-chart] .u-over").boundingBox();
  await page.mouse.move(box.x + box.width * 0.8, box.y + box.height / 2);
  const tooltip = page.getByRole("tooltip");
  await tooltip.waitFor();
  assert.match(await tooltip.textContent(), /k8s_pod_name="api-2".*2.*k8s_pod_name="api-1".*1/s);
  // A legend click shows only that series; another shows all again.
  await legend.getByRole("button", { name: /api-1/ }).click();
  assert.equal(await legend.getByRole("button", { name: /api-1/ }).getAttribute("aria-pressed"), "true");
  await legend.getByRole("button", { name: /api-1/ }).click();
});

test("the table shows each series' value at the end of the range", async () => {
  await page.getByRole("radio", { name: "Table" }).click();
  const table = page.getByRole("table", { name: "Result table" });
  await table.waitFor();
  const rows = await table.locator("tbody tr").allTextContents();
  assert.deepEqual(rows, [
    '{job="shop", k8s_pod_name="api-1", service_name="shop"}1',
    '{job="shop", k8s_pod_name="api-2", service_name="shop"}2',
  ]);
  assert.equal(new URL(page.url()).searchParams.get("view"), "table");
});

test("the URL reproduces the view, and back and forward move through it", async () => {
  await page.reload();
  const table = page.getByRole("table", { name: "Result table" });
  await table.waitFor();
  assert.equal(await table.locator("tbody tr").count(), 2);
  assert.equal(await editorText(), "rate(http_server_requests_total[5m])");
  assert.equal(await page.getByRole("radio", { name: "Table" }).getAttribute("aria-checked"), "true");

  await page.getByRole("radio", { name: "Chart" }).click();
  await chart(2).waitFor();
  await page.getByLabel("Step").selectOption("1m");
  await page.getByTestId("step-used").filter({ hasText: "step 1m" }).waitFor();
  assert.equal(new URL(page.url()).searchParams.get("step"), "1m");
  await page.goBack();
  await page.waitForFunction(() => !new URL(location.href).searchParams.has("step"));
  await page.getByTestId("step-used").filter({ hasNotText: "step 1m" }).waitFor();
  await page.goBack();
  await table.waitFor();
  await page.goForward();
  await chart(2).waitFor();
});

test("dragging across the chart zooms the time range", async () => {
  const box = await page.locator("[data-testid=series-chart] .u-over").boundingBox();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.9, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(() => /^\d+$/.test(new URL(location.href).searchParams.get("from") ?? ""));
  const params = new URL(page.url()).searchParams;
  assert.ok(Number(params.get("to")) > Number(params.get("from")));
  await chart(2).waitFor();
  await page.getByRole("button", { name: "Time range" }).click();
  await page.getByRole("button", { name: "Last 1 hour" }).click();
});

test("infos, empty results and execution errors are shown", async () => {
  await runQuery(page, "rate(queue_depth[5m])");
  await page.getByTestId("info").filter({ hasText: /might not be a counter/ }).waitFor();
  await runQuery(page, "no_such_metric");
  await page.getByTestId("empty-result").waitFor();
  await runQuery(page, 'label_replace(vector(1), "a", "", "b", "(")');
  const error = page.locator(".result-error");
  await error.waitFor();
  assert.match(await error.textContent(), /invalid regular expression in label_replace/);
});

test("a scalar or a string is one row of the table", async () => {
  await page.getByRole("radio", { name: "Table" }).click();
  await runQuery(page, "1 + 1");
  const table = page.getByRole("table", { name: "Result table" });
  await table.locator("tbody tr").filter({ hasText: /^scalar2$/ }).waitFor();
  assert.equal(await page.getByTestId("result-summary").textContent(), "scalar");
  await runQuery(page, '"kansoku"');
  await table.locator("tbody tr").filter({ hasText: /^stringkansoku$/ }).waitFor();
});
