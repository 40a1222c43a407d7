import { expect, it } from "vitest";
import { bucketSeconds, describeRange, refreshMillis, resolve, resolveRange } from "./time";

it("resolves relative and absolute ends", () => {
  const now = 1_700_000_000_000_000;
  expect(resolve("now", now)).toBe(now);
  expect(resolve("now-15m", now)).toBe(now - 900_000_000);
  expect(resolve("now-7d", now)).toBe(now - 7 * 86_400_000_000);
  expect(resolve("1699999999000000", now)).toBe(1_699_999_999_000_000);
  expect(resolve("yesterday", now)).toBeUndefined();
  expect(resolveRange({ from: "now", to: "now-1h" }, now)).toBeUndefined();
});

it("describes ranges and picks buckets and refresh", () => {
  expect(describeRange({ from: "now-15m", to: "now" })).toBe("Last 15 minutes");
  expect(describeRange({ from: "now-90m", to: "now" })).toBe("Last 90 minutes");
  expect(bucketSeconds(0, 15 * 60 * 1e6)).toBe(30);
  expect(bucketSeconds(0, 7 * 86400 * 1e6)).toBe(10800);
  expect(refreshMillis("10s")).toBe(10_000);
  expect(refreshMillis("off")).toBeUndefined();
});
