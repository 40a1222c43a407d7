import { describe, expect, it } from "vitest";
import {
  addSqlCondition,
  filterToCondition,
  filterToSql,
  FilterError,
  normaliseFieldName,
  resolveFieldName,
  streamOfSql,
  toggleFilterTerm,
  valueCondition,
} from "./query";

const fields = [
  { name: "status", type: "Int64" },
  { name: "level", type: "Utf8" },
  { name: "ok", type: "Boolean" },
];

describe("filter syntax", () => {
  it("turns free text into match_all and ANDs neighbours", () => {
    expect(filterToCondition("error timeout")).toBe("match_all('error') AND match_all('timeout')");
    expect(filterToCondition('"connection reset"')).toBe("match_all('connection reset')");
  });
  it("compares fields with typed literals", () => {
    expect(filterToCondition("status>=500", fields)).toBe('"status" >= 500');
    expect(filterToCondition("status=200", fields)).toBe('"status" = 200');
    expect(filterToCondition('status="200"', fields)).toBe(`"status" = '200'`);
    expect(filterToCondition("level:error", fields)).toBe(`"level" = 'error'`);
    expect(filterToCondition("ok=true", fields)).toBe('"ok" = true');
    expect(filterToCondition("level=500", fields)).toBe(`"level" = '500'`);
  });
  it("supports wildcards, presence, regex, boolean logic", () => {
    expect(filterToCondition("pod:api-*")).toBe(`"pod" LIKE 'api-%'`);
    expect(filterToCondition("pod:a_b*")).toBe(`"pod" LIKE 'a\\_b%'`);
    expect(filterToCondition("pod:*")).toBe(`"pod" IS NOT NULL`);
    expect(filterToCondition('msg~"time(d)? out"')).toBe(`re_match("msg", 'time(d)? out')`);
    expect(filterToCondition("a OR b c")).toBe("(match_all('a') OR match_all('b') AND match_all('c'))");
    expect(filterToCondition("-level=debug (x OR y)")).toBe(
      `NOT ("level" = 'debug') AND ((match_all('x') OR match_all('y')))`,
    );
    expect(filterToCondition("NOT error")).toBe("NOT (match_all('error'))");
  });
  it("escapes quotes so values never break out of literals", () => {
    expect(filterToCondition(`level="it's"`)).toBe(`"level" = 'it''s'`);
    expect(filterToCondition(`"a""b"`)).toBe("match_all('a') AND match_all('b')");
    expect(filterToSql('we"ird', "")).toBe('SELECT * FROM "we""ird"');
  });
  it("reports errors with their offset", () => {
    const cases: [string, number][] = [
      ['level="oops', 6],
      ["(a b", 4],
      ["level=", 6],
      ["a )", 2],
    ];
    for (const [input, offset] of cases) {
      try {
        filterToCondition(input);
        throw new Error(`no error for ${input}`);
      } catch (error) {
        expect(error).toBeInstanceOf(FilterError);
        expect((error as FilterError).offset).toBe(offset);
      }
    }
  });
  it("empty filter selects everything", () => {
    expect(filterToSql("app", "  ")).toBe('SELECT * FROM "app"');
  });
});

describe("filter term toggling", () => {
  it("adds, flips and removes terms", () => {
    expect(toggleFilterTerm("", "level", "error", false)).toBe("level=error");
    expect(toggleFilterTerm("x level=error", "level", "error", false)).toBe("x");
    expect(toggleFilterTerm("x level=error", "level", "error", true)).toBe("x -level=error");
    expect(toggleFilterTerm("", "msg", 'say "hi"', false)).toBe('msg="say \\"hi\\""');
  });
});

describe("SQL editing", () => {
  it("adds a WHERE clause or ANDs into the existing one", () => {
    expect(addSqlCondition('SELECT * FROM "app"', "a = 1")).toBe('SELECT * FROM "app" WHERE a = 1');
    expect(addSqlCondition("SELECT * FROM app ORDER BY _timestamp LIMIT 5", "a = 1")).toBe(
      "SELECT * FROM app WHERE a = 1 ORDER BY _timestamp LIMIT 5",
    );
    expect(addSqlCondition("SELECT * FROM app WHERE x OR y GROUP BY z", "a = 1")).toBe(
      "SELECT * FROM app WHERE (x OR y) AND a = 1 GROUP BY z",
    );
    expect(addSqlCondition("SELECT * FROM app WHERE msg = 'order by' ;", "a = 1")).toBe(
      "SELECT * FROM app WHERE (msg = 'order by') AND a = 1",
    );
    expect(addSqlCondition("SELECT * FROM (SELECT * FROM app WHERE q) t", "a = 1")).toBe(
      "SELECT * FROM (SELECT * FROM app WHERE q) t WHERE a = 1",
    );
  });
  it("builds value conditions and finds the stream", () => {
    expect(valueCondition("level", "it's", false)).toBe(`"level" = 'it''s'`);
    expect(valueCondition("code", 5, true)).toBe(`"code" != 5`);
    expect(valueCondition("x", null, false)).toBe(`"x" IS NULL`);
    expect(streamOfSql('select * from "my""s" where')).toBe('my"s');
    expect(streamOfSql("SELECT count(*) FROM app_logs")).toBe("app_logs");
  });
});

describe("field names as sent", () => {
  const k8s = [
    { name: "kubernetes_pod_name", type: "Utf8" },
    { name: "kubernetes_labels_app_kubernetes_io_name", type: "Utf8" },
    { name: "http_status_code", type: "Int64" },
  ];
  it("normalises names like the server", () => {
    expect(normaliseFieldName("node.hostname")).toBe("node_hostname");
    expect(normaliseFieldName("@timestamp")).toBe("_timestamp");
    expect(normaliseFieldName("http.Status-Code")).toBe("http_status_code");
    expect(normaliseFieldName("ユーザー")).toBe("ユーザー");
    expect(normaliseFieldName("a\u200bb")).toBe("a_b");
    expect(normaliseFieldName("")).toBe("_");
  });
  it("accepts dotted names and stored names alike", () => {
    expect(filterToCondition("kubernetes.pod_name:api", k8s)).toBe(`"kubernetes_pod_name" = 'api'`);
    expect(filterToCondition("kubernetes_pod_name:api", k8s)).toBe(`"kubernetes_pod_name" = 'api'`);
    expect(filterToCondition("kubernetes.labels.app.kubernetes.io/name=web", k8s)).toBe(
      `"kubernetes_labels_app_kubernetes_io_name" = 'web'`,
    );
    expect(filterToCondition("http.Status-Code>=500", k8s)).toBe(`"http_status_code" >= 500`);
    expect(filterToCondition("-kubernetes.pod_name:api-*", k8s)).toBe(`NOT ("kubernetes_pod_name" LIKE 'api-%')`);
    expect(filterToCondition('Kubernetes.Pod_Name~"^api"', [])).toBe(`re_match("kubernetes_pod_name", '^api')`);
    expect(resolveFieldName("weird.Name", [{ name: "weird.Name", type: "Utf8" }])).toBe("weird.Name");
  });
});
