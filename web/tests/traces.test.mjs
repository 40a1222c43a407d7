// End-to-end tests of the trace explorer: spans sent by the OpenTelemetry JS SDK's OTLP/JSON
// exporter, found in the search list, shown as a waterfall with the critical path, linked to
// their logs and back.
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
  await page.getByLabel("Logs stream").selectOption("app");
  await page.getByRole("link", { name: "Logs of this trace" }).click();
  await page.waitForFunction(() => document.querySelector("[data-testid=hit-count]")?.textContent === "1 hits");
  assert.equal(new URL(page.url()).searchParams.get("q"), `trace_id=${traceId}`);
  await page.locator(".results-row").first().click();
  await page.getByRole("link", { name: "Open trace" }).click();
  await page.getByRole("tree", { name: "Waterfall" }).locator("[data-span='GET /checkout']").waitFor();
  assert.equal(new URL(page.url()).searchParams.get("trace"), traceId);
  await page.getByRole("button", { name: "← Back to traces" }).click();
  await page.locator(`[data-trace='${traceId}']`).waitFor();
});
