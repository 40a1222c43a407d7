import { describe, expect, it } from "vitest";
import {
  chooseLevelField,
  chooseMessageField,
  clampMessage,
  filterPlaceholder,
  LEVEL_COLOURS,
  levelFromText,
  levelOf,
  logLine,
} from "./logline";

describe("message field", () => {
  it("prefers the stream's setting when the stream has the field", () => {
    expect(chooseMessageField(["log", "message", "text"], "text")).toBe("text");
    expect(chooseMessageField(["log", "message"], "missing")).toBe("log");
    expect(chooseMessageField(["message", "log"], "")).toBe("log");
    expect(chooseMessageField(["msg", "body"])).toBe("msg");
    expect(chooseMessageField(["body", "content"])).toBe("body");
    expect(chooseMessageField(["count", "level"])).toBeUndefined();
  });
  it("falls back per record to a candidate the record has", () => {
    const line = logLine({ _timestamp: 1, log: null, message: "from message", level: "info" }, "log", "level");
    expect(line.messageField).toBe("message");
    expect(line.message).toBe("from message");
  });
});

describe("levels", () => {
  it("finds the level field case-insensitively, in order of preference", () => {
    expect(chooseLevelField(["msg", "severity", "level"])).toBe("level");
    expect(chooseLevelField(["severity_text", "lvl"])).toBe("severity_text");
    expect(chooseLevelField(["LogLevel"])).toBe("LogLevel");
    expect(chooseLevelField(["message"])).toBeUndefined();
  });
  it("maps level words to levels and colours", () => {
    const cases: [unknown, string | undefined][] = [
      ["error", "error"],
      ["ERROR", "error"],
      ["Err", "error"],
      ["fatal", "fatal"],
      ["CRIT", "fatal"],
      ["warn", "warn"],
      ["WARNING", "warn"],
      ["info", "info"],
      ["Debug", "debug"],
      ["trace", "trace"],
      [" info ", "info"],
      ["verbose", undefined],
      [3, undefined],
      [null, undefined],
    ];
    for (const [value, level] of cases) expect(levelOf(value), String(value)).toBe(level);
    expect(LEVEL_COLOURS.error).toMatch(/^#/);
    expect(new Set(Object.values(LEVEL_COLOURS)).size).toBe(6);
  });
  it("reads a level written in the log line", () => {
    expect(levelFromText('ts=2022-12-27T14:09:59.212Z caller=klog.go:108 level=warn component=k8s')).toBe("warn");
    expect(levelFromText('{"level":"error","msg":"x"}')).toBe("error");
    expect(levelFromText("ERROR upstream timeout")).toBe("error");
    expect(levelFromText("[WARN] disk almost full")).toBe("warn");
    expect(levelFromText("E1127 10:00:00.000000       1 reflector.go:138] failed")).toBe("error");
    expect(levelFromText("2022/12/27 14:09:59 [warn] 37#37: *58234852 a client request body is buffered")).toBe("warn");
    expect(levelFromText("GET /healthz 200")).toBeUndefined();
  });
  it("uses the level field, else the message's", () => {
    expect(logLine({ log: "x", level: "ERROR" }, "log", "level")).toMatchObject({ level: "error", levelText: "ERROR" });
    expect(logLine({ log: "level=info ok", level: null }, "log", "level")).toMatchObject({ level: "info", levelText: "info" });
    expect(logLine({ log: "x", level: "custom" }, "log", "level")).toMatchObject({ level: undefined, levelText: "custom" });
  });
});

describe("chips", () => {
  it("lists the other fields as key=value, leaving out time, message, level and empty values", () => {
    const line = logLine(
      { _timestamp: 1, log: "hello", level: "error", kubernetes_pod_name: "api-1", code: 500, nothing: null, empty: "", obj: { a: 1 } },
      "log",
      "level",
    );
    expect(line.chips).toEqual([
      ["kubernetes_pod_name", "api-1"],
      ["code", "500"],
      ["obj", '{"a":1}'],
    ]);
  });
});

describe("long messages", () => {
  it("clamps beyond the line or character limit", () => {
    expect(clampMessage("short")).toBeUndefined();
    const many = Array.from({ length: 30 }, (_, i) => `line ${i}`).join("\n");
    expect(clampMessage(many)?.split("\n").length).toBe(12);
    expect(clampMessage("x".repeat(5000))?.length).toBe(1500);
  });
});

describe("filter placeholder", () => {
  it("names fields the stream has, with values of a record", () => {
    const fields = [
      { name: "log", type: "Utf8" },
      { name: "level", type: "Utf8" },
      { name: "kubernetes_pod_name", type: "Utf8" },
      { name: "kubernetes_namespace_name", type: "Utf8" },
    ];
    const text = filterPlaceholder(fields, { level: "warn", kubernetes_namespace_name: "monitoring" });
    expect(text).toContain("level=warn");
    expect(text).toContain("kubernetes_namespace_name:monitori*");
    expect(text).not.toContain("pod:");
  });
  it("never invents a field", () => {
    const text = filterPlaceholder([{ name: "message", type: "Utf8" }, { name: "count", type: "Int64" }]);
    expect(text).toBe("Filter: error count>0 (Ctrl+Enter to run)");
    expect(filterPlaceholder([])).toBe("Filter: error (Ctrl+Enter to run)");
  });
});
