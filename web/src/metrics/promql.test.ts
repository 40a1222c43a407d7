import { describe, expect, it } from "vitest";
import { firstSelector, matchOfQuery, seriesName, setMatcher, tokenize } from "./promql";

describe("lexer", () => {
  it("reads identifiers, numbers, durations, strings and operators", () => {
    const tokens = tokenize('rate(x{a=~"b\\"c"}[5m]) # note\n>= 1.5e3');
    expect(tokens.map((t) => `${t.type}:${t.text}`)).toEqual([
      "ident:rate",
      "punct:(",
      "ident:x",
      "punct:{",
      "ident:a",
      "op:=~",
      'string:"b\\"c"',
      "punct:}",
      "punct:[",
      "number:5m",
      "punct:]",
      "punct:)",
      "op:>=",
      "number:1.5e3",
    ]);
  });
  it("marks an unfinished string", () => {
    expect(tokenize('up{job="ap').at(-1)).toMatchObject({ type: "string", text: '"ap', open: true });
  });
});

describe("first selector", () => {
  it("skips functions, aggregations, keywords, label lists and ranges", () => {
    expect(firstSelector('sum by (job) (rate(http_requests_total{code="200"}[5m]))')).toMatchObject({
      metric: "http_requests_total",
      matchers: [{ label: "code", op: "=", value: '"200"' }],
    });
    expect(firstSelector("histogram_quantile(0.9, sum without (pod) (rate(x_bucket[5m])))")?.metric).toBe("x_bucket");
    expect(firstSelector("a / on(job) group_left(team) b")?.metric).toBe("a");
    expect(firstSelector('{__name__=~"up|x"}')).toMatchObject({ metric: "", matchers: [{ label: "__name__", op: "=~" }] });
    expect(firstSelector("vector(1) + Inf")).toBeUndefined();
    expect(firstSelector("")).toBeUndefined();
  });
  it("gives the match[] of the selector, without one label when asked", () => {
    expect(matchOfQuery('rate(x{a="1", b!~"2"}[5m])')).toBe('x{a="1", b!~"2"}');
    expect(matchOfQuery('rate(x{a="1", b!~"2"}[5m])', "a")).toBe('x{b!~"2"}');
    expect(matchOfQuery('{a="1"}', "a")).toBeUndefined();
    expect(matchOfQuery("up")).toBe("up{}");
    expect(matchOfQuery("time()")).toBeUndefined();
  });
});

describe("matcher insertion", () => {
  it("adds braces to a bare metric", () => {
    expect(setMatcher("rate(x[5m])", "pod", "api-1")).toBe('rate(x{pod="api-1"}[5m])');
    expect(setMatcher("up", "job", "a")).toBe('up{job="a"}');
  });
  it("appends to existing matchers and replaces the label's own", () => {
    expect(setMatcher('x{a="1"}', "b", "2")).toBe('x{a="1", b="2"}');
    expect(setMatcher('x{a="1", }', "b", "2")).toBe('x{a="1", b="2"}');
    expect(setMatcher("x{}", "b", "2")).toBe('x{b="2"}');
    expect(setMatcher('x{a=~"1|2", b="3"} + y{a="4"}', "a", "5")).toBe('x{a="5", b="3"} + y{a="4"}');
  });
  it("escapes values and quotes names that are not identifiers", () => {
    expect(setMatcher("x", "path", 'C:\\a "b"')).toBe('x{path="C:\\\\a \\"b\\""}');
    expect(setMatcher("x", "k8s.pod", "p")).toBe('x{"k8s.pod"="p"}');
    expect(setMatcher('x{"k8s.pod"="p"}', "k8s.pod", "q")).toBe('x{"k8s.pod"="q"}');
  });
  it("starts a selector when the query has none", () => {
    expect(setMatcher("", "job", "a")).toBe('{job="a"}');
  });
});

it("names series like Prometheus and Grafana", () => {
  expect(seriesName({ __name__: "up", job: "api", instance: "h:9100" })).toBe('up{instance="h:9100", job="api"}');
  expect(seriesName({ k8s_pod_name: "api-1" })).toBe('{k8s_pod_name="api-1"}');
  expect(seriesName({ __name__: "up" })).toBe("up");
  expect(seriesName({})).toBe("{}");
});
