import { expect, it } from "vitest";
import { autoStepSeconds, formatStep, parseStep, rangeWindow } from "./step";

it("picks a round step of at most a point per pixel, at least 1 s", () => {
  expect(autoStepSeconds(3600, 1200)).toBe(5); // 3 s per pixel
  expect(autoStepSeconds(3600, 240)).toBe(15);
  expect(autoStepSeconds(300, 1200)).toBe(1);
  expect(autoStepSeconds(86400, 1000)).toBe(120); // 86.4 s per pixel
  expect(autoStepSeconds(30 * 86400, 1000)).toBe(3600);
  expect(autoStepSeconds(5 * 365 * 86400, 200)).toBe(1209600); // beyond a week: whole weeks
  expect(autoStepSeconds(3600, 0)).toBe(3600);
});

it("parses and formats Prometheus durations", () => {
  expect(parseStep("15s")).toBe(15);
  expect(parseStep("1m30s")).toBe(90);
  expect(parseStep("2h")).toBe(7200);
  expect(parseStep("1d")).toBe(86400);
  expect(parseStep("0s")).toBeUndefined();
  expect(parseStep("15")).toBeUndefined();
  expect(parseStep("1.5m")).toBeUndefined();
  expect(formatStep(90)).toBe("1m30s");
  expect(formatStep(3600)).toBe("1h");
  expect(formatStep(1209600)).toBe("2w");
  expect(formatStep(86400 + 1)).toBe("1d1s");
});

it("aligns the range query's window to the step", () => {
  const range: [number, number] = [1_700_000_007_500_000, 1_700_003_599_000_000];
  expect(rangeWindow(range, 15)).toEqual({ start: 1_699_999_995, end: 1_700_003_595, step: 15 });
  expect(rangeWindow(range, 60)).toEqual({ start: 1_699_999_980, end: 1_700_003_580, step: 60 });
});
