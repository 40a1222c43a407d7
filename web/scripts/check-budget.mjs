// Fails the build when the UI's JavaScript and CSS exceed the bundle budget (gzip bytes).
// The budget is stated in the README; raise it only with a reason in the commit message.
import { readdirSync, readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";

const BUDGET_GZIP_BYTES = 300 * 1024;
const dir = new URL("../dist/assets/", import.meta.url).pathname;
let total = 0;
for (const name of readdirSync(dir)) {
  if (!/\.(js|css)$/.test(name)) continue;
  const size = gzipSync(readFileSync(join(dir, name))).length;
  total += size;
  console.log(`${name.padEnd(40)} ${(size / 1024).toFixed(1).padStart(8)} KiB gzip`);
}
console.log(`total ${(total / 1024).toFixed(1)} KiB gzip, budget ${BUDGET_GZIP_BYTES / 1024} KiB`);
if (total > BUDGET_GZIP_BYTES) {
  console.error("bundle budget exceeded");
  process.exit(1);
}
