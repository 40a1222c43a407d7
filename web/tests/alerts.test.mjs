// End-to-end tests of the alert screens: templates, destinations (with a test send to a local
// receiver), the alert editor's live preview, the list's state, run-now and the history.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test } from "node:test";
import { login, startBrowser, startServer } from "./harness.mjs";

let server;
let browser;
let page;
let receiver;
const received = [];

before(async () => {
  receiver = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      received.push(body);
      response.writeHead(200, { "content-type": "text/plain" });
      response.end("ok");
    });
  });
  await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  server = await startServer({ KANSOKU_DESTINATION_ALLOWLIST: "127.0.0.1" });
  const now = Date.now();
  const records = [];
  for (let i = 0; i < 12; i++) records.push({ container_name: "myapp", log: `ERROR request ${i} failed`, "@timestamp": new Date(now - 5000 - i).toISOString() });
  records.push({ container_name: "other", log: "error elsewhere" });
  records.push({ container_name: "myapp", log: "all good" });
  await server.ingest("app", records);
  browser = await startBrowser();
  page = await browser.context.newPage();
  page.on("dialog", (dialog) => void dialog.accept());
  await login(page, server.base);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
});

const waitForReceived = async (count) => {
  for (let i = 0; i < 100 && received.length < count; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(received.length, count, `received: ${JSON.stringify(received)}`);
};

test("a template is previewed and saved", async () => {
  await page.getByRole("link", { name: "Alerts" }).click();
  await page.getByRole("tab", { name: "Templates" }).click();
  await page.getByRole("button", { name: "New template" }).click();
  await page.getByLabel("Template name").fill("errors");
  await page.getByLabel("Template body").fill('{"text": "{alert_name}: {alert_count} errors in {stream_name}"}');
  await page.getByRole("button", { name: "Preview" }).click();
  const rendered = page.getByLabel("Rendered template");
  await rendered.getByText("Valid JSON").waitFor();
  assert.match(await rendered.textContent(), /example alert: 1 errors in default/);
  await page.getByRole("button", { name: "Save template" }).click();
  await page.getByRole("cell", { name: "errors", exact: true }).waitFor();
});

test("a destination is saved and a test notification reaches the receiver", async () => {
  await page.getByRole("tab", { name: "Destinations" }).click();
  await page.getByRole("button", { name: "New destination" }).click();
  await page.getByLabel("Destination name").fill("hook");
  await page.getByLabel("URL").fill(`http://127.0.0.1:${receiver.address().port}/hook`);
  await page.getByLabel("Destination template").selectOption("errors");
  await page.getByRole("button", { name: "Save and send test" }).click();
  await page.getByRole("status").filter({ hasText: /test notification accepted \(200\)/ }).waitFor();
  await waitForReceived(1);
  assert.match(received[0], /kansoku test notification/);
  await page.getByRole("button", { name: "Done" }).click();
  await page.locator("[data-destination=hook]").waitFor();
  // An internal address outside the allowlist is refused with the reason.
  await page.getByRole("button", { name: "New destination" }).click();
  await page.getByLabel("Destination name").fill("metadata");
  await page.getByLabel("URL").fill("http://169.254.169.254/latest/meta-data");
  await page.getByRole("button", { name: "Save and send test" }).click();
  await page.getByRole("alert").filter({ hasText: /SSRF|not allowed|link-local|blocked/i }).waitFor();
  await page.getByRole("button", { name: "Cancel" }).click();
});

test("the alert editor previews live, saves, and the list shows state, run-now and history", async () => {
  await page.getByRole("tab", { name: "Alerts" }).click();
  await page.getByRole("button", { name: "New alert" }).click();
  await page.getByLabel("Alert name").fill("myapp errors");
  await page.getByLabel("Stream").fill("app");
  await page.getByRole("button", { name: "Add condition" }).click();
  await page.getByLabel("Condition 1 field").fill("container_name");
  await page.getByLabel("Condition 1 value").fill("myapp");
  await page.getByRole("button", { name: "Add condition" }).click();
  await page.getByLabel("Condition 2 field").fill("log");
  await page.getByLabel("Condition 2 operator").selectOption("contains");
  await page.getByLabel("Condition 2 value").fill("error");
  await page.getByLabel("Threshold").fill("10");
  await page.getByLabel("Period").fill("5");
  const preview = page.getByLabel("Preview");
  await preview.getByText("Yes — it would fire").waitFor();
  assert.match(await preview.textContent(), /Value 12 >= 10/);
  assert.match(await preview.textContent(), /has at least 10 matching records in the last 5 minutes/);
  await page.getByLabel("Threshold").fill("13");
  await preview.getByText("No — it would not fire").waitFor();
  await page.getByLabel("Threshold").fill("10");
  await preview.getByText("Yes — it would fire").waitFor();
  // Saving without a destination names the problem.
  await page.getByRole("button", { name: "Save alert" }).click();
  await page.getByRole("alert").filter({ hasText: /destination/ }).waitFor();
  await page.getByLabel("Destination hook").check();
  await page.getByRole("button", { name: "Save alert" }).click();

  const row = page.locator("[data-alert='myapp errors']");
  await row.waitFor();
  assert.match(await row.textContent(), /not run yet/);
  await row.getByRole("button", { name: "Run now" }).click();
  await page.getByText("myapp errors: fired (value 12)").waitFor();
  await row.getByText("firing").waitFor();
  assert.notEqual((await row.locator("td").nth(3).textContent()).trim(), "—", "last evaluation shown");
  await waitForReceived(2);
  assert.equal(JSON.parse(received[1]).text, "myapp errors: 12 errors in app");

  await row.getByRole("button", { name: "History" }).click();
  const history = page.locator(".history-table");
  await history.getByText("delivered").waitFor();
  assert.match(await history.textContent(), /fired/);
  assert.match(await history.textContent(), /value 12 >= 10/);
  assert.match(await history.textContent(), /hook: accepted \(200\)/);

  await page.getByRole("tab", { name: "Alerts" }).click();
  await row.getByRole("button", { name: "Disable" }).click();
  await row.getByText("disabled").waitFor();
  // Editing keeps the document: the threshold read back from the server.
  await row.getByRole("link", { name: "myapp errors" }).click();
  assert.equal(await page.getByLabel("Threshold").inputValue(), "10");
  assert.equal(await page.getByLabel("Condition 2 operator").inputValue(), "contains");
  await page.getByRole("button", { name: "Cancel" }).click();
  await row.waitFor();
});

test("nested conditions from the API are shown read-only, not flattened", async () => {
  const response = await fetch(`${server.base}/api/v2/default/alerts`, {
    method: "POST",
    headers: { authorization: server.auth, "content-type": "application/json" },
    body: JSON.stringify({
      name: "nested",
      stream_name: "app",
      query_condition: {
        type: "custom",
        conditions: { and: [{ column: "container_name", operator: "=", value: "myapp" }, { or: [{ column: "log", operator: "contains", value: "error" }, { not: { column: "log", operator: "contains", value: "ok" } }] }] },
      },
      trigger_condition: { period: 5, operator: ">=", threshold: 1, frequency: 60, silence: 0 },
      destinations: ["hook"],
    }),
  });
  assert.equal(response.status, 200, await response.text());
  await page.reload();
  const row = page.locator("[data-alert='nested']");
  await row.getByRole("link", { name: "nested" }).click();
  await page.getByText("These conditions nest and/or/not").waitFor();
  assert.match(await page.getByLabel("Nested conditions").textContent(), /"not"/);
  // The preview still evaluates the whole tree.
  await page.getByLabel("Preview").getByText(/— it would/).waitFor();
  await page.getByRole("button", { name: "Cancel" }).click();
  await row.waitFor();
});
