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

it("labels time axes with minutes on short ranges", async () => {
  const { axisTimeLabels } = await import("./time");
  const at = (h: number, m: number, s: number, day = 5) => new Date(2026, 0, day, h, m, s).getTime() / 1000;
  expect(axisTimeLabels([at(10, 0, 0), at(10, 0, 30), at(10, 1, 0)], 30)).toEqual(["10:00:00", "10:00:30", "10:01:00"]);
  expect(axisTimeLabels([at(10, 0, 0), at(10, 5, 0)], 300)).toEqual(["10:00", "10:05"]);
  expect(axisTimeLabels([at(23, 0, 0), at(0, 0, 0, 6)], 3600)).toEqual(["23:00", "01-06"]);
  expect(axisTimeLabels([at(22, 0, 0), at(1, 0, 0, 6)], 10800)).toEqual(["22:00", "01-06 01:00"]);
  expect(axisTimeLabels([at(0, 0, 0), at(0, 0, 0, 6), at(0, 0, 0, 7)], 86400)).toEqual(["01-05", "01-06", "01-07"]);
  expect(axisTimeLabels([at(12, 0, 0), at(12, 0, 0, 6)], 43200 * 2 - 1)).toEqual(["01-05 12:00", "01-06 12:00"]);
  // Never a bare ":30".
  for (const label of axisTimeLabels([at(10, 0, 10), at(10, 0, 20), at(10, 0, 30)], 10)) expect(label).toMatch(/^\d\d:\d\d:\d\d$/);
});
