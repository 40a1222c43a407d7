import { expect, it } from "vitest";
import { describeResult, parseJsonText } from "./pipeline";

it("names what is not JSON", () => {
  expect(parseJsonText("{\"steps\": []}", "The pipeline")).toEqual({ value: { steps: [] } });
  expect(parseJsonText("{steps", "The pipeline").error).toMatch(/^The pipeline is not valid JSON: /);
});

it("says what happened to each record", () => {
  expect(describeResult({ record_number: 1, stream: "k8s", record: {} })).toBe("record 1: stored in k8s");
  expect(describeResult({ record_number: 1, stream: "k8s", joined_records: [2, 3], record: {} })).toBe(
    "record 1 (joined with 2, 3): stored in k8s",
  );
  expect(describeResult({ record_number: 4, stream: "system", routed: true, record: {} })).toBe("record 4: routed to system");
  expect(describeResult({ record_number: 5, dropped: true })).toBe("record 5: dropped");
  expect(describeResult({ record_number: 7, stream: "k8s", failed: "boom", record: {} })).toBe(
    "record 7: the pipeline failed (boom); stored unprocessed in k8s",
  );
  expect(describeResult({ record_number: 6, error: "not an object" })).toBe("record 6: refused: not an object");
});
