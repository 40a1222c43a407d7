import { expect, it } from "vitest";
import { busiest, errorsSql, volumeSql } from "./errors";

it("counts error-level records per interval", () => {
  const sql = errorsSql("k8s", "level");
  expect(sql).toMatch(/^SELECT histogram\(_timestamp\) AS t, count\(\*\) AS n FROM "k8s" WHERE "level" IN \('error', 'ERROR', 'Error', 'err', /);
  expect(sql).toMatch(/'fatal'.*'critical'/);
  expect(sql).toMatch(/GROUP BY t ORDER BY t$/);
});

it("counts every record per interval, the stream name quoted", () => {
  expect(volumeSql("k8s")).toBe('SELECT histogram(_timestamp) AS t, count(*) AS n FROM "k8s" GROUP BY t ORDER BY t');
  expect(volumeSql('we"ird')).toBe('SELECT histogram(_timestamp) AS t, count(*) AS n FROM "we""ird" GROUP BY t ORDER BY t');
});

it("picks the busiest streams, ties by name", () => {
  const s = (name: string, doc_num: number) => ({ name, stats: { doc_num } });
  const streams = [s("a", 1), s("b", 50), s("c", 7), s("d", 50), s("e", 0), s("f", 3), s("g", 2)];
  expect(busiest(streams).map((x) => x.name)).toEqual(["b", "d", "c", "f", "g"]);
  expect(busiest(streams, 2).map((x) => x.name)).toEqual(["b", "d"]);
  expect(streams[0].name).toBe("a");
});
