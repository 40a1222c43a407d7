// End-to-end UI tests: the real server, real data, headless Chromium.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { login, runQuery, sampleRecords, startBrowser, startServer } from "./harness.mjs";

const COUNT = 300;
let server;
let browser;
let page;

before(async () => {
  server = await startServer();
  await server.ingest("app", sampleRecords(COUNT));
  await server.ingest("other", [{ message: "another stream" }]);
  browser = await startBrowser();
  page = await browser.context.newPage();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const hitCount = () => page.getByTestId("hit-count");

test("wrong password is refused, right one signs in", async () => {
  await page.goto(`${server.base}/`);
  await page.getByLabel("E-mail").fill("root@example.com");
  await page.getByLabel("Password").fill("wrong");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: /wrong e-mail or password/i }).waitFor();
  await login(page, server.base);
});

test("picks a stream and shows the histogram and hit count", async () => {
  // Signing in lands on the home page; the logs page opens the stream with the newest data.
  await page.getByRole("link", { name: "Logs", exact: true }).click();
  await page.getByLabel("Stream").selectOption("app");
  await page.waitForFunction(() => document.querySelector("[data-testid=hit-count]")?.textContent === "300 hits");
  assert.equal(await hitCount().textContent(), `${COUNT} hits`);
  assert.equal(await page.locator("[data-testid=histogram] canvas").count(), 1);
  const buckets = Number(await page.getByTestId("histogram").getAttribute("data-nonempty-buckets"));
  assert.ok(buckets >= 5, `records spread over 9 minutes fill several buckets, got ${buckets}`);
  assert.ok((await page.locator(".results-row").count()) > 10, "rows are rendered");
  // Virtualised: far fewer DOM rows than records.
  assert.ok((await page.locator(".results-row").count()) < COUNT);
});

test("a field's top values filter the results", async () => {
  await page.getByLabel("Search field names").fill("lev");
  await page.locator("[data-field=level]").click();
  const values = page.getByTestId("top-values-level");
  await values.getByText("Top 3 values in 300 records").waitFor();
  assert.match(await values.textContent(), /error100/);
  await values.getByRole("button", { name: "Include level=error" }).click();
  await page.waitForFunction(() => document.querySelector("[data-testid=hit-count]")?.textContent === "100 hits");
  assert.equal(new URL(page.url()).searchParams.get("q"), "level=error");
  await values.getByRole("button", { name: "Exclude level=error" }).click();
  await page.waitForFunction(() => document.querySelector("[data-testid=hit-count]")?.textContent === "200 hits");
  assert.equal(new URL(page.url()).searchParams.get("q"), "-level=error");
  await page.getByLabel("Search field names").fill("");
});

test("SQL mode runs queries and shows errors at their position", async () => {
  await page.getByRole("radio", { name: "SQL" }).click();
  await runQuery(page, 'SELECT * FROM "app" WHERE status >= 502');
  await page.waitForFunction(() => document.querySelector("[data-testid=hit-count]")?.textContent === "50 hits");
  await runQuery(page, "SELECT * FROM app WHERE");
  const alert = page.locator(".query-error");
  await alert.waitFor();
  assert.match(await alert.textContent(), /syntax|expected/i);
  await page.locator(".cm-lintRange-error").first().waitFor();
  await runQuery(page, "SELECT * FROM app WHERE nosuchfield = 1");
  await page.locator(".query-error").filter({ hasText: /nosuchfield/ }).waitFor();
  await runQuery(page, "SELECT * FROM app");
  await page.waitForFunction(() => document.querySelector("[data-testid=hit-count]")?.textContent === "300 hits");
});

test("columns are added and resized", async () => {
  await page.locator("[data-group=kubernetes] > button").click();
  await page.getByRole("button", { name: "Add column level" }).click();
  await page.getByRole("button", { name: "Add column kubernetes_pod_name" }).click();
  const header = page.locator(".header-cell[data-column=level]");
  const before = (await header.boundingBox()).width;
  const handle = await page.getByTestId("resize-level").boundingBox();
  await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
  await page.mouse.down();
  await page.mouse.move(handle.x + 150, handle.y + handle.height / 2, { steps: 5 });
  await page.mouse.up();
  const afterWidth = (await header.boundingBox()).width;
  assert.ok(afterWidth > before + 100, `column grew from ${before} to ${afterWidth}`);
  assert.match(new URL(page.url()).searchParams.get("w") ?? "", /^level:\d+$/);
  assert.equal(new URL(page.url()).searchParams.get("cols"), "level,kubernetes_pod_name");
});

test("a record expands to a table, JSON and its surroundings", async () => {
  await page.locator(".results-row").first().click();
  const panel = page.getByRole("complementary", { name: "Record" });
  await panel.waitFor();
  assert.match(await panel.textContent(), /node_hostname/);
  await panel.getByRole("tab", { name: "JSON" }).click();
  const json = JSON.parse(await page.getByTestId("record-json").textContent());
  assert.equal(typeof json._timestamp, "number");
  assert.ok(json.message.includes("request"));
  await panel.getByRole("tab", { name: "Surrounding records" }).click();
  await panel.locator(".around li.anchor").waitFor();
  assert.ok((await panel.locator(".around li").count()) > 5);
});

test("the URL shares the view", async () => {
  const url = page.url();
  const fresh = await browser.context.newPage();
  await fresh.goto(url);
  await fresh.getByRole("complementary", { name: "Record" }).waitFor();
  await fresh.waitForFunction(() => document.querySelector("[data-testid=hit-count]")?.textContent === "300 hits");
  assert.equal(await fresh.locator(".header-cell[data-column=level]").count(), 1);
  assert.equal(await fresh.getByRole("radio", { name: "SQL" }).getAttribute("aria-checked"), "true");
  assert.equal(await fresh.locator(".cm-content").textContent(), "SELECT * FROM app");
  const width = (await fresh.locator(".header-cell[data-column=level]").boundingBox()).width;
  const original = (await page.locator(".header-cell[data-column=level]").boundingBox()).width;
  assert.ok(Math.abs(width - original) < 2, `same column width ${width} vs ${original}`);
  await fresh.close();
});

test("the search downloads as CSV with every row", async () => {
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "CSV" }).click()]);
  const text = readFileSync(await download.path(), "utf8");
  const lines = text.trim().split("\n");
  assert.equal(lines.length, COUNT + 1, "a header and every record");
  assert.match(lines[0], /_timestamp/);
  assert.match(lines[0], /level/);
});

test("live tail shows new records as they arrive", async () => {
  await page.getByRole("button", { name: "Close record" }).click();
  await page.getByRole("button", { name: "▶ Live tail" }).click();
  await page.getByTestId("live-status").filter({ hasText: /^live/ }).waitFor();
  await server.ingest("app", [{ level: "error", message: "tail-marker-7f3a arrived" }]);
  const live = page.locator(".results-row.live");
  await live.first().waitFor({ timeout: 15_000 });
  assert.equal(await live.count(), 1);
  await live.first().click();
  await page.getByRole("complementary", { name: "Record" }).getByText("tail-marker-7f3a arrived").waitFor();
  await page.getByRole("button", { name: "Close record" }).click();
  await page.getByRole("button", { name: "Pause" }).click();
  await server.ingest("app", [{ level: "info", message: "tail-marker-paused" }]);
  await page.getByRole("button", { name: "Resume (1 new)" }).waitFor({ timeout: 15_000 });
  assert.equal(await live.count(), 1, "paused: nothing new shown");
  await page.getByRole("button", { name: "Resume (1 new)" }).click();
  await page.waitForFunction(() => document.querySelectorAll(".results-row.live").length === 2);
  await page.getByRole("button", { name: "■ Stop live tail" }).click();
});

test("drag on the histogram zooms the time range", async () => {
  const box = await page.locator("[data-testid=histogram] .u-over").boundingBox();
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(() => /^\d+$/.test(new URL(location.href).searchParams.get("from") ?? ""));
  const params = new URL(page.url()).searchParams;
  assert.ok(Number(params.get("to")) > Number(params.get("from")));
  await page.getByRole("button", { name: "Time range" }).click();
  await page.getByRole("button", { name: "Last 15 minutes" }).click();
  assert.equal(new URL(page.url()).searchParams.get("from"), "now-15m");
});

test("the streams page lists stats and saves settings", async () => {
  await page.getByRole("link", { name: "Streams" }).click();
  const row = page.getByRole("row").filter({ hasText: /^app/ });
  await row.waitFor();
  assert.match(await row.textContent(), /30[0-9]/);
  assert.match(await row.textContent(), /forever/, "retention in force");
  await page.getByRole("button", { name: "Details of app" }).click();
  const detail = page.getByRole("region", { name: "Stream app" });
  await detail.getByRole("cell", { name: "node_hostname", exact: true }).waitFor();
  await detail.getByLabel("Retention days").fill("-3");
  await detail.getByRole("button", { name: "Save settings" }).click();
  await detail.getByRole("alert").waitFor();
  await detail.getByLabel("Retention days").fill("14");
  await detail.getByLabel("Full-text fields").fill("message, body");
  await detail.getByRole("button", { name: "Save settings" }).click();
  await detail.getByText("Settings saved.").waitFor();
  await page.getByRole("row").filter({ hasText: /^app/ }).filter({ hasText: "14 days" }).waitFor();
  const response = await fetch(`${server.base}/api/default/streams/app/schema`, { headers: { authorization: server.auth } });
  const info = await response.json();
  assert.equal(info.settings.data_retention, 14);
  assert.deepEqual(info.settings.full_text_search_keys, ["message", "body"]);
});

test("the pipeline editor tries steps on sample records, refuses bad ones, saves and removes", async () => {
  const detail = page.getByRole("region", { name: "Stream app" });
  const editor = detail.getByRole("region", { name: "Pipeline" });
  await editor.getByText("No pipeline").waitFor();
  // The stream's latest records are offered as samples.
  await page.waitForFunction(() => document.querySelector("[aria-label='Sample records']")?.value.includes("_timestamp"));
  await editor.getByLabel("Pipeline steps").fill(
    JSON.stringify({
      steps: [
        { type: "drop_record", when: { field: "level", op: "eq", value: "debug" } },
        { type: "rename", from: "message", to: "msg" },
      ],
    }),
  );
  await editor.getByLabel("Sample records").fill(JSON.stringify([{ level: "debug", message: "noise" }, { level: "info", message: "kept" }]));
  await editor.getByRole("button", { name: "Test on samples" }).click();
  const results = editor.getByRole("list", { name: "Test results" });
  await results.getByText("record 1: dropped").waitFor();
  await results.getByText("record 2: stored in app").waitFor();
  assert.match(await results.textContent(), /"msg": "kept"/);
  await editor.getByLabel("Pipeline steps").fill('{"steps": [{"type": "explode"}]}');
  await editor.getByRole("button", { name: "Save pipeline" }).click();
  await editor.getByRole("alert").filter({ hasText: /unknown variant/ }).waitFor();
  await editor.getByLabel("Pipeline steps").fill('{"steps": [{"type": "drop_record", "when": {"field": "level", "op": "eq", "value": "debug"}}]}');
  await editor.getByRole("button", { name: "Save pipeline" }).click();
  await editor.getByText(/Pipeline saved \(version 1\)/).waitFor();
  const answer = await server.ingest("app", [{ level: "debug", message: "dropped by the pipeline" }]);
  assert.equal(answer.status[0].dropped, 1);
  await editor.getByRole("button", { name: "Remove pipeline" }).click();
  await editor.getByText("Pipeline removed.").waitFor();
  const response = await fetch(`${server.base}/api/default/streams/app/pipeline`, { headers: { authorization: server.auth } });
  assert.equal(response.status, 404);
});

test("the audit log lists the settings change, with who made it", async () => {
  await page.getByRole("link", { name: "Audit" }).click();
  const table = page.getByRole("table", { name: "Audit log" });
  const row = table.getByRole("row").filter({ hasText: "/api/default/streams/app/settings" }).first();
  await row.waitFor();
  assert.match(await row.textContent(), /PUT/);
  assert.match(await row.textContent(), /root@/);
});

test("record text is rendered as text, never as HTML", async () => {
  await server.ingest("xss", [{ message: '<img src=x onerror="window.__pwned=1">', level: "<b>bold</b>" }]);
  await page.goto(`${server.base}/logs?org=default&stream=xss`);
  await page.locator(".results-row").first().waitFor();
  assert.match(await page.locator(".results-row").first().textContent(), /<img src=x/);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.locator(".results img").count(), 0);
});

test("10,000 rows stay virtualised while scrolling to the end", async () => {
  await server.ingest("big", sampleRecords(10_000, 9));
  await page.goto(`${server.base}/logs?org=default&stream=big&size=10000`);
  await page.waitForFunction(() => document.querySelector("[data-testid=hit-count]")?.textContent === "10,000 hits");
  await page.locator(".results-row").first().waitFor();
  assert.ok((await page.locator(".results-row").count()) < 200, "only visible rows are in the page");
  await page.getByTestId("results-body").evaluate((element) => {
    element.scrollTop = element.scrollHeight;
  });
  await page.locator(".results-row[data-index='9999']").waitFor();
  assert.ok((await page.locator(".results-row").count()) < 200);
});

test("signing out ends the session", async () => {
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  const response = await page.evaluate(async () => (await fetch("/auth/me", { headers: { "x-kansoku-csrf": "1" } })).status);
  assert.equal(response, 401);
});
