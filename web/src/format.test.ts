import { expect, it } from "vitest";
import { plural, pluralNoun } from "./format";

it("uses the singular for exactly one", () => {
  expect(plural(1, "hit")).toBe("1 hit");
  expect(plural(0, "hit")).toBe("0 hits");
  expect(plural(2, "record")).toBe("2 records");
  expect(plural(1234, "hit")).toBe((1234).toLocaleString() + " hits");
  expect(plural(1, "series")).toBe("1 series");
  expect(plural(3, "series")).toBe("3 series");
  expect(plural(2, "batch")).toBe("2 batches");
  expect(plural(2, "query")).toBe("2 queries");
  expect(plural(5, "person", "people")).toBe("5 people");
  expect(pluralNoun("value")).toBe("values");
});
