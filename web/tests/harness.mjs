// Test harness for the UI: a real `kansoku serve` (the debug binary built by the test command)
// on a free loopback port with a temporary data dir, bounded by `timeout` and killed by PID, and
// Debian's Chromium driven by playwright-core.
import { spawn, execSync } from "node:child_process";
import { mkdtempSync, rmSync, openSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, homedir } from "node:os";
import { join } from "node:path";
import { SpanStatusCode, context, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { chromium } from "playwright-core";

export const ROOT = "root@example.com";
export const PASSWORD = "Complexpass#123";

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts the server; `extraEnv` adds `KANSOKU_*` settings. */
export async function startServer(extraEnv = {}) {
  const target = process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache/kansoku-target");
  const binary = process.env.KANSOKU_BIN ?? join(target, "debug/kansoku");
  const dataDir = mkdtempSync(join(tmpdir(), "kansoku-ui-"));
  const port = await freePort();
  const log = openSync(`${dataDir}.log`, "w");
  const child = spawn("timeout", ["-k", "5", "900", binary, "serve"], {
    env: {
      PATH: process.env.PATH,
      KANSOKU_DATA_DIR: join(dataDir, "data"),
      KANSOKU_HTTP_ADDR: "127.0.0.1",
      KANSOKU_HTTP_PORT: String(port),
      KANSOKU_GRPC_PORT: "0",
      KANSOKU_ROOT_USER_EMAIL: ROOT,
      KANSOKU_ROOT_USER_PASSWORD: PASSWORD,
      KANSOKU_LOG: "info",
      ...extraEnv,
    },
    stdio: ["ignore", "ignore", log],
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`kansoku exited early; see ${dataDir}.log`);
    try {
      const response = await fetch(`${base}/readyz`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`kansoku did not become ready; see ${dataDir}.log`);
    await sleep(200);
  }
  const auth = `Basic ${Buffer.from(`${ROOT}:${PASSWORD}`).toString("base64")}`;
  return {
    base,
    auth,
    async ingest(stream, records, org = "default") {
      const response = await fetch(`${base}/api/${org}/${stream}/_json`, {
        method: "POST",
        headers: { authorization: auth, "content-type": "application/json" },
        body: JSON.stringify(records),
      });
      const body = await response.json();
      if (!response.ok || body.status?.[0]?.failed) throw new Error(`ingest failed: ${JSON.stringify(body)}`);
      return body;
    },
    async stop() {
      child.kill("SIGTERM");
      await Promise.race([new Promise((r) => child.once("exit", r)), sleep(10_000)]);
      if (child.exitCode === null) child.kill("SIGKILL");
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(`${dataDir}.log`, { force: true });
    },
  };
}

export async function startBrowser(viewport = { width: 1400, height: 860 }) {
  const userDataDir = mkdtempSync(join(tmpdir(), "kansoku-pw-"));
  const executablePath = process.env.KANSOKU_CHROMIUM ?? execSync("command -v chromium").toString().trim();
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    acceptDownloads: true,
    viewport,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Realistic Kubernetes-ish records spread over the last `minutes` minutes. */
export function sampleRecords(count, minutes = 9) {
  const now = Date.now();
  const levels = ["info", "warn", "error"];
  const records = [];
  for (let i = 0; i < count; i++) {
    const level = levels[i % 3];
    records.push({
      "@timestamp": new Date(now - Math.floor((i / count) * minutes * 60_000) - 1000).toISOString(),
      level,
      status: level === "error" ? 500 + (i % 4) : 200,
      kubernetes: { pod_name: `api-${i % 5}`, namespace_name: i % 2 ? "shop" : "payments" },
      node: { hostname: `node-${i % 4}` },
      message: `${level.toUpperCase()} request ${i} handled in ${i % 97} ms${level === "error" ? " — upstream timeout" : ""}`,
    });
  }
  return records;
}

/** Replaces the query editor's text and runs it with Ctrl+Enter. */
export async function runQuery(page, text) {
  const editor = page.locator(".cm-content");
  await editor.click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  if (text) await page.keyboard.insertText(text);
  await page.keyboard.press("Escape");
  await page.keyboard.press("Control+Enter");
}

export async function login(page, base) {
  await page.goto(`${base}/`);
  await page.getByLabel("E-mail").fill(ROOT);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("link", { name: "Logs", exact: true }).waitFor();
}

/** One checkout request: a root span with a failing and a fast child, sent as OTLP/JSON. */
export async function sendTrace(base, auth) {
  const exporter = new OTLPTraceExporter({ url: `${base}/api/default/v1/traces`, headers: { Authorization: auth } });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "shop", "k8s.pod.name": "shop-1" }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer("ui-test");
  const start = Date.now() - 2000;
  const root = tracer.startSpan("GET /checkout", { startTime: start, attributes: { "http.method": "GET" } });
  const inRoot = trace.setSpan(context.active(), root);
  const cart = tracer.startSpan("load cart", { startTime: start + 5 }, inRoot);
  cart.end(start + 25);
  const charge = tracer.startSpan("charge card", { startTime: start + 30, attributes: { "payment.provider": "acme" } }, inRoot);
  charge.addEvent("retry", { attempt: 2 }, start + 60);
  charge.setStatus({ code: SpanStatusCode.ERROR, message: "card declined" });
  charge.end(start + 180);
  root.end(start + 200);
  await provider.forceFlush();
  await provider.shutdown();
  return root.spanContext().traceId;
}

