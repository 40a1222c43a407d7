// Regenerates the README's screenshots (docs/screenshots/*.png) from the real server and data.
// Run by scripts/screenshots.sh.
import { mkdirSync } from "node:fs";
import { login, sampleRecords, startBrowser, startServer } from "./harness.mjs";

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
  console.log(`screenshots written to ${out}`);
} finally {
  await browser.close();
  await server.stop();
}
