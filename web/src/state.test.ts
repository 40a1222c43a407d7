import { expect, it } from "vitest";
import { parseLogsState, serializeLogsState } from "./state";

it("round-trips the logs state through the URL", () => {
  const state = {
    stream: "app",
    mode: "sql" as const,
    query: "SELECT * FROM app WHERE a = 'x,y'",
    from: "1700000000000000",
    to: "1700000900000000",
    columns: ["level", "kubernetes_pod_name"],
    widths: { level: 120, kubernetes_pod_name: 300 },
    record: "1700000000123456",
    refresh: "10s",
    wrap: true,
    size: 500,
    viz: "metric:count:avg:level",
  };
  const url = serializeLogsState(state, "default");
  expect(new URLSearchParams(url).get("org")).toBe("default");
  expect(parseLogsState(url)).toEqual(state);
});

it("ignores junk in the URL", () => {
  const state = parseLogsState("?size=7&w=a:5,b:xx,c:200&mode=evil");
  expect(state.size).toBe(1000);
  expect(state.widths).toEqual({ c: 200 });
  expect(state.mode).toBe("filter");
});
