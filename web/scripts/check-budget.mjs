// Fails the build when a page loads more than the bundle budget (gzip bytes): the entry
// chunk(s) — JavaScript and CSS every page loads — plus the largest lazily loaded route (its
// own chunks and CSS, e.g. the dashboards). Lazy routes are not counted together, since no page
// loads them all. The chunk graph comes from Vite's manifest (dist/.vite/manifest.json), which is
// removed afterwards so that it is not embedded in the binary. The budget is stated in
// docs/ui.md; raise it only with a reason in the commit message.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";

const BUDGET_GZIP_BYTES = 300 * 1024;
const dist = new URL("../dist/", import.meta.url).pathname;
const manifestPath = join(dist, ".vite/manifest.json");
if (!existsSync(manifestPath)) {
  console.error(`no ${manifestPath}: run vite build (with build.manifest) first`);
  process.exit(1);
}
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
rmSync(join(dist, ".vite"), { recursive: true, force: true });

const sizes = new Map();
const gz = (file) => {
  if (!sizes.has(file)) sizes.set(file, gzipSync(readFileSync(join(dist, file))).length);
  return sizes.get(file);
};
/** The files a chunk loads with it: its own, its CSS, and those of its static imports. */
function files(key, out = new Set()) {
  const chunk = manifest[key];
  if (!chunk || out.has(chunk.file)) return out;
  out.add(chunk.file);
  for (const css of chunk.css ?? []) out.add(css);
  for (const imported of chunk.imports ?? []) files(imported, out);
  return out;
}
const kib = (bytes) => `${(bytes / 1024).toFixed(1).padStart(7)} KiB`;
const sum = (set) => [...set].reduce((total, file) => total + gz(file), 0);

const entry = new Set();
for (const key of Object.keys(manifest).filter((k) => manifest[k].isEntry)) files(key, entry);
console.log("entry (every page):");
for (const file of entry) console.log(`  ${file.padEnd(46)} ${kib(gz(file))} gzip`);
const entryBytes = sum(entry);

let largest = { name: "(none)", bytes: 0 };
for (const key of Object.keys(manifest).filter((k) => manifest[k].isDynamicEntry)) {
  const own = new Set([...files(key)].filter((file) => !entry.has(file)));
  const bytes = sum(own);
  console.log(`lazy route ${key}:`);
  for (const file of own) console.log(`  ${file.padEnd(46)} ${kib(gz(file))} gzip`);
  if (bytes > largest.bytes) largest = { name: key, bytes };
}
const total = entryBytes + largest.bytes;
console.log(
  `entry ${kib(entryBytes).trim()} + largest lazy route (${largest.name}) ${kib(largest.bytes).trim()} = ${kib(total).trim()} gzip, budget ${BUDGET_GZIP_BYTES / 1024} KiB`,
);
if (total > BUDGET_GZIP_BYTES) {
  console.error("bundle budget exceeded");
  process.exit(1);
}
