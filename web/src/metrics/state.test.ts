import { expect, it } from "vitest";
import { DEFAULT_METRICS_STATE, parseMetricsState, serializeMetricsState } from "./state";

it("round-trips the metrics state through the URL", () => {
  const state = {
    query: 'sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))',
    from: "1700000000000000",
    to: "1700000900000000",
    step: "1m30s",
    view: "table" as const,
    refresh: "30s",
  };
  const url = serializeMetricsState(state, "default");
  expect(new URLSearchParams(url).get("org")).toBe("default");
  expect(parseMetricsState(url)).toEqual(state);
});

it("keeps defaults out of the URL and ignores junk", () => {
  expect(serializeMetricsState(DEFAULT_METRICS_STATE, "o")).toBe("org=o&from=now-1h&to=now");
  expect(parseMetricsState("?org=o")).toEqual(DEFAULT_METRICS_STATE);
  const state = parseMetricsState("?step=often&view=pie");
  expect(state.step).toBe("auto");
  expect(state.view).toBe("chart");
  expect(parseMetricsState("?step=0s").step).toBe("auto");
});
