import { expect, it } from "vitest";
import { partialWarning } from "./api";

it("warns about a partial answer, naming the nodes not read", () => {
  expect(partialWarning({ is_partial: false, partial_nodes: [] })).toBeUndefined();
  expect(partialWarning({})).toBeUndefined();
  expect(partialWarning({ is_partial: true, partial_nodes: ["ingester-0", "ingester-2"] })).toBe(
    "Partial results: records held in memory by ingester-0, ingester-2 (not flushed yet) were not read.",
  );
  expect(partialWarning({ is_partial: true })).toContain("some ingesters");
});
