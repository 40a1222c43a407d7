// Regenerates the README's screenshots (docs/screenshots/*.png) from the real server and data.
// Run by scripts/screenshots.sh.
import { mkdirSync } from "node:fs";
import { login, sampleRecords, sendTrace, startBrowser, startServer } from "./harness.mjs";

const out = new URL("../../docs/screenshots/", import.meta.url).pathname;
mkdirSync(out, { recursive: true });
const server = await startServer();
const browser = await startBrowser({ width: 1440, height: 820 });
try {
  await server.ingest("app", sampleRecords(1200, 14));
  await server.ingest("nginx", sampleRecords(200, 14));
  const page = await browser.context.newPage();
  await login(page, server.base);
  await page.goto(`${server.base}/logs?org=default&stream=app&from=now-15m&to=now&cols=level,kubernetes_pod_name,message&w=level:90,kubernetes_pod_name:120`);
  await page.locator("[data-testid=histogram] canvas").waitFor();
  await page.locator("[data-field=level]").click();
  await page.getByTestId("top-values-level").locator("li").first().waitFor();
  await page.screenshot({ path: `${out}logs.png` });
  await page.locator(".results-row").nth(2).click();
  await page.getByRole("complementary", { name: "Record" }).waitFor();
  await page.screenshot({ path: `${out}record.png` });
  await page.getByRole("link", { name: "Streams" }).click();
  await page.getByRole("button", { name: "Details of app" }).click();
  await page.getByRole("region", { name: "Stream app" }).getByText("node_hostname").waitFor();
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
  console.log(`screenshots written to ${out}`);
} finally {
  await browser.close();
  await server.stop();
}
