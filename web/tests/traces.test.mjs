// End-to-end tests of the trace explorer: spans sent by the OpenTelemetry JS SDK's OTLP/JSON
// exporter, found in the search list, shown as a waterfall with the critical path, linked to
// their logs and back; a stream change searches once.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { login, sendTrace, startBrowser, startServer } from "./harness.mjs";

let server;
let browser;
let page;
let traceId;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  server = await startServer();
  traceId = await sendTrace(server.base, server.auth);
  await server.ingest("app", [
    { message: "card declined by acme", trace_id: traceId, level: "error" },
    { message: "unrelated", level: "info" },
  ]);
  // A logs stream without trace ids, first by name: not the default for "Logs of this trace".
  await server.ingest("aaa", [{ message: "no trace here" }]);
  browser = await startBrowser();
  page = await browser.context.newPage();
  await login(page, server.base);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("a trace sent by the JS SDK is listed with its duration and errors", async () => {
  await page.getByRole("link", { name: "Traces" }).click();
  const row = page.locator(`[data-trace='${traceId}']`);
  for (let i = 0; i < 50 && !(await row.count()); i++) {
    await sleep(200);
    await page.getByRole("button", { name: "Search" }).click();
  }
  await row.waitFor();
  const text = await row.textContent();
  assert.match(text, /shop: GET \/checkout/);
  assert.match(text, /1 error/);
  assert.match(text, /3 spans/);
  assert.match(text, /200(\.0)? ms/);
  const services = page.getByLabel("Services");
  assert.match(await services.textContent(), /shop/);
  // Filters narrow the list; a filter that matches nothing empties it.
  await page.getByLabel("Status").selectOption("error");
  await page.getByRole("button", { name: "Search" }).click();
  await row.waitFor();
  await page.getByLabel("Minimum duration (ms)").fill("500");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByText("No traces match.").waitFor();
  await page.getByLabel("Minimum duration (ms)").fill("");
  await page.getByRole("button", { name: "Search" }).click();
  await row.waitFor();
});

test("attribute filters take names as sent, with = or :", async () => {
  // Any status: one span must match every filter, and the failing span has no http.method.
  await page.getByLabel("Status").selectOption("");
  const row = page.locator(`[data-trace='${traceId}']`);
  // A resource attribute as the SDK sent it (stored as service_k8s_pod_name), and a span attribute.
  await page.getByLabel("Attributes").fill("k8s.pod.name:shop-1, http.method=GET");
  await page.getByRole("button", { name: "Search" }).click();
  await row.waitFor();
  assert.equal(new URL(page.url()).searchParams.get("filter"), "k8s.pod.name:shop-1, http.method=GET");
  await page.getByLabel("Attributes").fill("k8s.pod.name=shop-2");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByText("No traces match.").waitFor();
  await page.getByLabel("Attributes").fill("service_k8s_pod_name=shop-1");
  await page.getByRole("button", { name: "Search" }).click();
  await row.waitFor();
  assert.equal(await page.locator(".trace-results h4").textContent(), "1 trace");
  await page.getByLabel("Attributes").fill("");
  await page.getByLabel("Status").selectOption("");
  await page.getByRole("button", { name: "Search" }).click();
  await row.waitFor();
});

test("the waterfall shows the spans, the critical path and a span's details", async () => {
  await page.locator(`[data-trace='${traceId}']`).click();
  const waterfall = page.getByRole("tree", { name: "Waterfall" });
  await waterfall.locator("[data-span='charge card']").waitFor();
  const names = await waterfall.locator("[role=treeitem]").evaluateAll((rows) => rows.map((r) => `${r.getAttribute("aria-level")}:${r.dataset.span}`));
  assert.deepEqual(names, ["1:GET /checkout", "2:load cart", "2:charge card"]);
  const charge = waterfall.locator("[data-span='charge card']");
  assert.equal(await charge.getAttribute("data-critical"), "true");
  assert.match(await charge.getAttribute("class"), /failed/);
  await charge.click();
  const detail = page.getByRole("complementary", { name: "Span" });
  await detail.getByText("card declined").waitFor();
  assert.match(await detail.textContent(), /payment_provider/);
  assert.match(await detail.textContent(), /acme/);
  assert.match(await detail.textContent(), /retry/);
  assert.match(await detail.textContent(), /service_k8s_pod_name/);
});

test("logs of this trace, and from a log record back to its trace", async () => {
  // The default logs stream is one with a trace_id field.
  await page.waitForFunction(() => document.querySelector("select[aria-label='Logs stream']")?.value === "app");
  await page.getByRole("link", { name: "Logs of this trace" }).click();
  await page.waitForFunction(() => document.querySelector("[data-testid=hit-count]")?.textContent === "1 hit");
  assert.equal(new URL(page.url()).searchParams.get("q"), `trace_id=${traceId}`);
  await page.locator(".results-row").first().click();
  await page.getByRole("link", { name: "Open trace" }).click();
  await page.getByRole("tree", { name: "Waterfall" }).locator("[data-span='GET /checkout']").waitFor();
  assert.equal(new URL(page.url()).searchParams.get("trace"), traceId);
  await page.getByRole("button", { name: "← Back to traces" }).click();
  await page.locator(`[data-trace='${traceId}']`).waitFor();
});

test("changing the stream searches once, after the new stream's field names are known", async () => {
  await page.goto(`${server.base}/traces?org=default&stream=nosuch`);
  await page.getByLabel("Traces stream").waitFor();
  const path = "/api/default/default/traces/latest";
  const searches = [];
  const listener = (r) => new URL(r.url()).pathname === path && searches.push(r.url());
  const held = [];
  const hold = (route) => held.push(route);
  const streamList = (url) => url.pathname === "/api/default/streams" && url.searchParams.get("type") === "traces";
  page.on("request", listener);
  await page.route(streamList, hold);
  try {
    await page.getByLabel("Traces stream").selectOption("default");
    for (let i = 0; i < 200 && !held.length; i++) await sleep(50);
    assert.equal(held.length, 1, "the stream list (with field names) is asked for");
    // A round trip to the page: every request it made so far has been reported.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
    assert.deepEqual(searches, [], "no search with the previous stream's field names");
    await held[0].continue();
    await page.locator(`[data-trace='${traceId}']`).waitFor();
    assert.equal(searches.length, 1, searches.join("\n"));
  } finally {
    page.off("request", listener);
    await page.unroute(streamList, hold);
  }
});
