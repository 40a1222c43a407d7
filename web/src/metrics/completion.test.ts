import { expect, it } from "vitest";
import { completionContext } from "./completion";

/** The context at the `|` in `text`. */
const at = (text: string) => completionContext(text.replace("|", ""), text.indexOf("|"));

it("completes expressions: metric names, functions, keywords", () => {
  expect(at("ra|")).toEqual({ kind: "expression", from: 0 });
  expect(at("sum(rate(http_re|")).toEqual({ kind: "expression", from: 9 });
  expect(at("a + |")).toEqual({ kind: "expression", from: 4 });
  expect(at("histogram_quantile(0.9, |")).toEqual({ kind: "expression", from: 24 });
});

it("completes label names inside braces and grouping lists", () => {
  expect(at("up{|")).toEqual({ kind: "labelName", from: 3, match: "up{}" });
  expect(at('up{job="a", ins|}')).toEqual({ kind: "labelName", from: 12, match: 'up{job="a"}' });
  expect(at("{|")).toEqual({ kind: "labelName", from: 1, match: undefined });
  expect(at("sum by (|) (rate(x[5m]))")).toEqual({ kind: "labelName", from: 8, match: "x{}" });
  expect(at("sum(x) without (a, |")).toEqual({ kind: "labelName", from: 19, match: "x{}" });
});

it("completes label values after an operator, in quotes or not", () => {
  expect(at('up{job="a", instance="h|')).toEqual({ kind: "labelValue", from: 22, label: "instance", quoted: true, match: 'up{job="a"}' });
  expect(at('up{job=~"|"}')).toEqual({ kind: "labelValue", from: 9, label: "job", quoted: true, match: "up{}" });
  expect(at("rate(x{pod=|")).toEqual({ kind: "labelValue", from: 11, label: "pod", quoted: false, match: "x{}" });
  expect(at('{job="|')).toEqual({ kind: "labelValue", from: 6, label: "job", quoted: true, match: undefined });
});

it("completes durations in ranges and after offset", () => {
  expect(at("rate(x[|")).toEqual({ kind: "duration", from: 7 });
  expect(at("rate(x[5|")).toEqual({ kind: "duration", from: 7 });
  expect(at("x offset |")).toEqual({ kind: "duration", from: 9 });
});

it("completes nothing in numbers, strings outside selectors and after a value", () => {
  expect(at("x > 12|")).toBeNull();
  expect(at('label_replace(x, "a|')).toBeNull();
  expect(at('up{job="a"|')).toBeNull();
  expect(at('up{job="a" |')).toBeNull();
});
