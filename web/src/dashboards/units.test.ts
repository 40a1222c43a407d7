import { describe, expect, it } from "vitest";
import { formatUnit, mapValue, normalizeUnit, reduce, thresholdColor } from "./units";

const f = (value: number, unit: string, decimals?: number, custom?: string) => formatUnit(value, { ...normalizeUnit(unit, custom), decimals });

describe("units", () => {
  it("formats o2's units", () => {
    expect(f(1536, "bytes", 1)).toBe("1.5 KiB");
    expect(f(3 * 1024 ** 3, "bytes", 0)).toBe("3 GiB");
    expect(f(2, "kilobytes", 0)).toBe("2 KiB");
    expect(f(2048, "bps", 1)).toBe("2.0 KiB/s");
    expect(f(0.25, "seconds", 0)).toBe("250 ms");
    expect(f(90, "seconds", 1)).toBe("1.5 min");
    expect(f(1500, "milliseconds", 1)).toBe("1.5 s");
    expect(f(1500, "microseconds", 1)).toBe("1.5 ms");
    expect(f(1500, "nanoseconds", 1)).toBe("1.5 µs");
    expect(f(42.123, "percent", 1)).toBe("42.1%");
    expect(f(0.5, "percent-1", 0)).toBe("50%");
    expect(f(3, "custom", 0, "req/s")).toBe("3 req/s");
    expect(f(12.345, "numbers", 2)).toBe("12.35");
    expect(f(12.345, "numbers")).toBe("12.35");
    expect(f(1234567, "numbers")).toBe("1.2 M");
    expect(f(0.000123, "numbers")).toBe("0.000123");
  });

  it("reads Grafana's unit ids from overrides", () => {
    expect(normalizeUnit("percentunit")).toEqual({ unit: "percent-1", custom: undefined });
    expect(normalizeUnit("bps").unit).toBe("bps");
    expect(normalizeUnit("bps", undefined, true)).toEqual({ unit: "custom", custom: "b/s" });
    expect(normalizeUnit("Bps").unit).toBe("bps");
    expect(normalizeUnit(undefined).unit).toBe("numbers");
  });

  it("threshold colours, absolute and percentage", () => {
    const thresholds = { mode: "absolute" as const, steps: [{ color: "green", value: null }, { color: "red", value: 80 }] };
    expect(thresholdColor(50, thresholds)).toBe("#73bf69");
    expect(thresholdColor(80, thresholds)).toBe("#f2495c");
    const pct = { mode: "percentage" as const, steps: [{ color: "green", value: null }, { color: "#ff0000", value: 50 }] };
    expect(thresholdColor(0.6, pct, 0, 1)).toBe("#ff0000");
    expect(thresholdColor(0.4, pct, 0, 1)).toBe("#73bf69");
    expect(thresholdColor(null, thresholds)).toBeUndefined();
  });

  it("value mappings, Grafana's and o2's", () => {
    const grafana = [
      { type: "value", options: { "1": { text: "Up", color: "green" }, "0": { text: "Down", color: "red" } } },
      { type: "range", options: { from: 10, to: 20, result: { text: "teen" } } },
      { type: "special", options: { match: "null", result: { text: "N/A" } } },
    ];
    expect(mapValue(1, grafana)).toEqual({ text: "Up", color: "#73bf69" });
    expect(mapValue("0", grafana)?.text).toBe("Down");
    expect(mapValue(15, grafana)?.text).toBe("teen");
    expect(mapValue(null, grafana)?.text).toBe("N/A");
    expect(mapValue(5, grafana)).toBeUndefined();
    expect(mapValue(3, [{ type: "value", value: "3", text: "three" }])?.text).toBe("three");
  });

  it("reducers", () => {
    const values = [1, null, 3, 2];
    expect(reduce(values)).toBe(2);
    expect(reduce(values, "mean")).toBe(2);
    expect(reduce(values, "max")).toBe(3);
    expect(reduce(values, "min")).toBe(1);
    expect(reduce(values, "sum")).toBe(6);
    expect(reduce([null], "sum")).toBeNull();
  });
});
