import { describe, expect, it } from "vitest";
import { alertState, emptyAlert, formatHeaders, parseHeaders, type AlertWithState } from "./alertsApi";

const withState = (change: Partial<AlertWithState>): AlertWithState => ({
  ...emptyAlert("app"),
  id: "a1",
  last_run_at: 0,
  next_run_at: 0,
  last_triggered_at: 0,
  last_status: "",
  summary: "",
  ...change,
});

describe("alert state", () => {
  it("names what the last evaluation found", () => {
    expect(alertState(withState({ last_status: "fired" }))).toEqual({ label: "firing", tone: "bad" });
    expect(alertState(withState({ last_status: "not_fired" })).label).toBe("ok");
    expect(alertState(withState({ last_status: "silenced" })).tone).toBe("warn");
    expect(alertState(withState({ last_status: "" })).label).toBe("not run yet");
    expect(alertState(withState({ last_status: "fired", enabled: false })).label).toBe("disabled");
  });
});

describe("headers", () => {
  it("round-trip through the text form and skip malformed lines", () => {
    const headers = parseHeaders("Authorization: Bearer a:b\nno colon here\n X-Team : ops \n: empty name");
    expect(headers).toEqual({ Authorization: "Bearer a:b", "X-Team": "ops" });
    expect(parseHeaders(formatHeaders(headers))).toEqual(headers);
  });
});
