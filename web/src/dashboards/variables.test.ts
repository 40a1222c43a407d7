import { describe, expect, it } from "vitest";
import type { Variable } from "./types";
import {
  ALL,
  applyPromqlFilters,
  applySqlFilters,
  autoInterval,
  builtins,
  type Fetchers,
  formatVariable,
  parseFilter,
  promqlVariableQuery,
  resolveVariables,
  resultLine,
  substitute,
  toOptions,
  urlVariables,
  type VarState,
  variableMap,
} from "./variables";

const state = (name: string, value: string[], extra: Partial<VarState> = {}): VarState => ({
  name,
  type: "custom",
  label: name,
  hidden: false,
  multi: false,
  includeAll: false,
  options: [],
  value,
  filters: [],
  ...extra,
});

const vars = (...states: VarState[]) => new Map(states.map((s) => [s.name, s]));
const options = (...values: string[]) => values.map((value) => ({ label: value, value }));

describe("substitution", () => {
  const ns = state("namespace", ["shop"]);
  it("replaces every syntax and leaves $1 and unknown names alone", () => {
    const map = vars(ns);
    expect(substitute('up{namespace="$namespace"}', map, {}, "promql")).toBe('up{namespace="shop"}');
    expect(substitute("${namespace} [[namespace]] {{namespace}}", map, {}, "promql")).toBe("shop shop shop");
    expect(substitute('label_replace(x, "pod", "$1", "k8s_pod_name", "(.*)")', map, {}, "promql")).toBe(
      'label_replace(x, "pod", "$1", "k8s_pod_name", "(.*)")',
    );
    expect(substitute("${1} $unknown ${unknown:csv} $namespace_name", map, {}, "promql")).toBe("${1} $unknown ${unknown:csv} $namespace_name");
  });

  it("PromQL: several values become a regex-escaped alternation", () => {
    const pod = state("pod", ["api.1", "api-2"], { multi: true, options: options("api.1", "api-2", "web") });
    expect(substitute('x{pod=~"$pod"}', vars(pod), {}, "promql")).toBe('x{pod=~"(api\\\\.1|api-2)"}');
    const one = { ...pod, value: ["web"] };
    expect(substitute('x{pod=~"$pod"}', vars(one), {}, "promql")).toBe('x{pod=~"web"}');
  });

  it("All: every value without allValue, allValue as is", () => {
    const pod = state("pod", [ALL], { multi: true, includeAll: true, options: options("a", "b") });
    expect(substitute('x{pod=~"$pod"}', vars(pod), {}, "promql")).toBe('x{pod=~"(a|b)"}');
    const custom = { ...pod, allValue: ".+" };
    expect(substitute('x{pod=~"$pod"}', vars(custom), {}, "promql")).toBe('x{pod=~".+"}');
    expect(substitute("${pod:csv}", vars(custom), {}, "promql")).toBe(".+");
    expect(substitute("$pod", vars(custom), {}, "sql")).toBe(".+");
  });

  it("an empty value is an empty string", () => {
    expect(substitute('x{cluster="$cluster"}', vars(state("cluster", [])), {}, "promql")).toBe('x{cluster=""}');
    expect(substitute('x{cluster="$cluster"}', vars(state("cluster", [""])), {}, "promql")).toBe('x{cluster=""}');
  });

  it("SQL: several values are single-quoted with quotes doubled; one of a single-value variable is inserted as is", () => {
    const level = state("level", ["error", "it's"], { multi: true });
    expect(substitute("level IN ($level)", vars(level), {}, "sql")).toBe("level IN ('error','it''s')");
    expect(substitute("level IN ($level)", vars({ ...level, value: ["error"] }), {}, "sql")).toBe("level IN ('error')");
    expect(substitute("level = '$level'", vars(state("level", ["o'k"])), {}, "sql")).toBe("level = 'o''k'");
  });

  it("formats", () => {
    const v = state("v", ["a.b", "c'd"], { multi: true });
    const f = (format: string) => formatVariable(v, format, "promql");
    expect(f("csv")).toBe("a.b,c'd");
    expect(f("pipe")).toBe("a.b|c'd");
    expect(f("regex")).toBe("(a\\.b|c'd)");
    expect(f("singlequote")).toBe("'a.b','c\\'d'");
    expect(f("doublequote")).toBe('"a.b","c\'d"');
    expect(f("json")).toBe('["a.b","c\'d"]');
    expect(f("raw")).toBe("a.b,c'd");
    expect(f("text")).toBe("a.b + c'd");
    expect(f("glob")).toBe("{a.b,c'd}");
    expect(f("lucene")).toBe('("a.b" OR "c\'d")');
    expect(f("sqlstring")).toBe("'a.b','c''d'");
    expect(f("percentencode")).toBe("%7Ba.b%2Cc%27d%7D");
    expect(f("queryparam")).toBe("var-v=a.b&var-v=c%27d");
    expect(formatVariable(state("v", ["a b"]), "regex", "sql")).toBe("a b");
    expect(formatVariable(state("v", ["x"]), "json", "sql")).toBe('"x"');
  });

  it("built-ins", () => {
    const hour: [number, number] = [0, 3600e6];
    const b = builtins(hour, 30);
    expect(b.__interval).toBe("30s");
    expect(b.__interval_ms).toBe("30000");
    expect(b.__rate_interval).toBe("1m"); // max(30 + 15, 4 × 15)
    expect(builtins(hour, 120).__rate_interval).toBe("2m15s");
    expect(b.__range).toBe("3600s");
    expect(b.__range_s).toBe("3600");
    expect(b.__range_ms).toBe("3600000");
    expect(b.__to).toBe("3600000");
    expect(substitute("rate(x[$__rate_interval]) $__interval_ms ${__range_s}", new Map(), b, "promql")).toBe("rate(x[1m]) 30000 3600");
  });
});

describe("dynamic filters", () => {
  const filters = [{ name: "pod", operator: "=~", value: "api-.*" }];
  it("are added to every PromQL selector", () => {
    expect(applyPromqlFilters("sum by (pod) (rate(http_total[5m]))", filters)).toBe('sum by (pod) (rate(http_total{pod=~"api-.*"}[5m]))');
    expect(applyPromqlFilters('a{job="x"} / on (pod) group_left b{}', filters)).toBe(
      'a{job="x", pod=~"api-.*"} / on (pod) group_left b{pod=~"api-.*"}',
    );
    expect(applyPromqlFilters('{__name__="up"} offset 5m', filters)).toBe('{__name__="up", pod=~"api-.*"} offset 5m');
    expect(applyPromqlFilters('label_replace(up, "a", "$1", "b", "(.*)")', filters)).toBe(
      'label_replace(up{pod=~"api-.*"}, "a", "$1", "b", "(.*)")',
    );
    expect(applyPromqlFilters("1 + 1", filters)).toBe("1 + 1");
  });
  it("are ANDed into the SQL WHERE clause", () => {
    expect(applySqlFilters('SELECT count(*) FROM "app" GROUP BY x', [{ name: "level", operator: "=", value: "error" }])).toBe(
      `SELECT count(*) FROM "app" WHERE "level" = 'error' GROUP BY x`,
    );
    expect(applySqlFilters("SELECT * FROM app WHERE a = 1", filters)).toBe(`SELECT * FROM app WHERE (a = 1) AND "pod" ~ 'api-.*'`);
  });
  it("parse from the URL", () => {
    expect(parseFilter("pod=~a|b")).toEqual({ name: "pod", operator: "=~", value: "a|b" });
    expect(parseFilter("level!=x=y")).toEqual({ name: "level", operator: "!=", value: "x=y" });
    expect(parseFilter("nonsense")).toBeUndefined();
  });
});

describe("options", () => {
  it("regex capture groups and sorting", () => {
    const lines = ['{namespace="shop"} 1 1000', '{namespace="api"} 1 1000', '{namespace="shop"} 2 1000', "{} 1 1"];
    expect(toOptions(lines, '/namespace="([^"]+)"/', 1).map((o) => o.value)).toEqual(["api", "shop"]);
    expect(toOptions(["b", "a", "C"], "", 2).map((o) => o.value)).toEqual(["b", "a", "C"]);
    expect(toOptions(["b", "a", "C"], "", 5).map((o) => o.value)).toEqual(["a", "b", "C"]);
    expect(toOptions(["n10", "n9", "n100"], "", 3).map((o) => o.value)).toEqual(["n9", "n10", "n100"]);
    expect(toOptions(["n10", "n9", "n100"], "", 4).map((o) => o.value)).toEqual(["n100", "n10", "n9"]);
    expect(toOptions(["ab-1", "cd-2"], "/(?<text>[a-z]+)-(?<value>\\d)/", 0)).toEqual([
      { label: "ab", value: "1" },
      { label: "cd", value: "2" },
    ]);
  });

  it("query_result lines look like Grafana's", () => {
    expect(resultLine({ __name__: "up", job: "x" }, "1", 1.5)).toBe('up{job="x"} 1 1500');
  });

  it("interval auto", () => {
    expect(autoInterval(3600e6)).toBe("2m");
    expect(autoInterval(60e6, 30, "10s")).toBe("10s");
  });

  it("Grafana's variable query forms call the right endpoint", async () => {
    const calls: string[] = [];
    const fetchers: Fetchers = {
      labelValues: async (label, match) => (calls.push(`values ${label} ${match}`), label === "__name__" ? ["up", "http_total", "go_gc"] : ["v"]),
      labelNames: async (match) => (calls.push(`names ${match}`), ["job"]),
      queryResult: async (expr) => (calls.push(`query ${expr}`), []),
      series: async (match) => (calls.push(`series ${match}`), []),
      fieldValues: async () => [],
    };
    await promqlVariableQuery("label_values(pod)", fetchers);
    await promqlVariableQuery('label_values(kube_pod_info{namespace="a"}, pod)', fetchers);
    await promqlVariableQuery("label_names()", fetchers);
    expect(await promqlVariableQuery("metrics(^http)", fetchers)).toEqual(["http_total"]);
    await promqlVariableQuery("query_result(count by (x) (up))", fetchers);
    await promqlVariableQuery("up", fetchers);
    expect(calls).toEqual([
      "values pod undefined",
      'values pod kube_pod_info{namespace="a"}',
      "names undefined",
      "values __name__ undefined",
      "query count by (x) (up)",
      "series up",
    ]);
  });
});

describe("resolution", () => {
  const range: [number, number] = [0, 3600e6];
  const defs: Variable[] = [
    { type: "query_values", name: "namespace", query_data: { promql: "label_values(kube_pod_info, namespace)" } },
    {
      type: "query_values",
      name: "pod",
      multiSelect: true,
      includeAll: true,
      value: [ALL],
      query_data: { promql: 'label_values(kube_pod_info{namespace="$namespace"}, pod)' },
    },
    { type: "custom", name: "env", options: [{ label: "Prod", value: "prod", selected: true }, { label: "Dev", value: "dev" }] },
    { type: "textbox", name: "text", value: "hello" },
    { type: "constant", name: "c", value: "42" },
  ];
  const pods: Record<string, string[]> = { shop: ["shop-1", "shop-2"], api: ["api-1"] };
  const calls: string[] = [];
  const fetchers: Fetchers = {
    labelValues: async (label, match) => {
      calls.push(`${label} ${match ?? ""}`);
      if (label === "namespace") return ["shop", "api"];
      return pods[/namespace="([^"]*)"/.exec(match ?? "")?.[1] ?? ""] ?? [];
    },
    labelNames: async () => [],
    queryResult: async () => [],
    series: async () => [],
    fieldValues: async () => [],
  };

  it("resolves in order, a chained variable with the one before it", async () => {
    calls.length = 0;
    const states = await resolveVariables(defs, {}, { fetchers, range });
    expect(states.map((s) => [s.name, s.value])).toEqual([
      ["namespace", ["shop"]],
      ["pod", [ALL]],
      ["env", ["prod"]],
      ["text", ["hello"]],
      ["c", ["42"]],
    ]);
    expect(calls).toEqual(["namespace kube_pod_info", 'pod kube_pod_info{namespace="shop"}']);
    const map = variableMap(defs, states, range);
    expect(substitute('x{pod=~"$pod"} $env $text $c', map, {}, "promql")).toBe('x{pod=~"(shop-1|shop-2)"} prod hello 42');

    // Changing the first refetches the second (only it), whose selection stays All.
    calls.length = 0;
    const next = await resolveVariables(defs, { namespace: ["api"] }, { fetchers, range, previous: states, changed: new Set(["namespace"]) });
    expect(calls).toEqual(['pod kube_pod_info{namespace="api"}']);
    expect(next[1].options.map((o) => o.value)).toEqual(["api-1"]);
    expect(substitute('$pod', variableMap(defs, next, range), {}, "promql")).toBe("api-1");

    // A value that is no longer an option falls back to the default, then the first option.
    const picked = await resolveVariables(defs, { namespace: ["shop"], pod: ["shop-2"] }, { fetchers, range });
    expect(picked[1].value).toEqual(["shop-2"]);
    const gone = await resolveVariables(defs, { namespace: ["api"], pod: ["shop-2"] }, { fetchers, range });
    expect(gone[1].value).toEqual([ALL]);
  });

  it("keeps an error on the variable that failed", async () => {
    const failing = { ...fetchers, labelValues: async () => Promise.reject(new Error("boom")) };
    const states = await resolveVariables(defs.slice(0, 1), {}, { fetchers: failing, range });
    expect(states[0].error).toBe("boom");
    expect(states[0].value).toEqual([]);
  });

  it("reads var- parameters, repeated for several values", () => {
    expect(urlVariables("?org=a&var-pod=x&var-pod=y&var-ns=%24__all")).toEqual({ pod: ["x", "y"], ns: [ALL] });
  });
});
