import { expect, it } from "vitest";
import { alignSeries, exactValue, formatValue, sampleNumber } from "./chartData";

it("puts each series on the step grid, with gaps as null", () => {
  const grid = { start: 100, end: 160, step: 15 };
  const { xs, columns } = alignSeries(
    [
      { metric: { a: "1" }, values: [[100, "1"], [130, "2.5"], [145, "NaN"]] },
      { metric: { a: "2" }, values: [[115, "+Inf"], [160, "-3"]] },
    ],
    grid,
  );
  expect(xs).toEqual([100, 115, 130, 145, 160]);
  expect(columns).toEqual([
    [1, null, 2.5, null, null],
    [null, null, null, null, -3],
  ]);
});

it("reads and formats sample values", () => {
  expect(sampleNumber("0.25")).toBe(0.25);
  expect(sampleNumber("-Inf")).toBeNull();
  expect(formatValue(0.03333333333333333)).toBe("0.0333333");
  expect(formatValue(2)).toBe("2");
  expect(formatValue(123456789)).toBe("1.235e+8");
  expect(formatValue(0.00001)).toBe("1.000e-5");
});

it("shows a table value without floating-point noise, and NaN and infinities as sent", () => {
  expect(exactValue("0.9999999999999998")).toBe("1");
  expect(exactValue("1.9999999999999996")).toBe("2");
  expect(exactValue("0.03333333333333333")).toBe("0.0333333333333333");
  expect(exactValue("123456789.125")).toBe("123456789.125");
  expect(exactValue("1e-7")).toBe("1e-7");
  expect(exactValue("NaN")).toBe("NaN");
  expect(exactValue("+Inf")).toBe("+Inf");
  expect(exactValue("-Inf")).toBe("-Inf");
});
