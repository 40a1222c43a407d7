import { describe, expect, it } from "vitest";
import { emptyAlert } from "../alertsApi";
import { flatConditions } from "./conditions";

const withConditions = (conditions: unknown) => {
  const alert = emptyAlert("app");
  return { ...alert, query_condition: { ...alert.query_condition, conditions } } as Parameters<typeof flatConditions>[0];
};

const leaf = { column: "level", operator: "=", value: "error" };

describe("alert conditions in the editor", () => {
  it("reads flat and/or lists, legacy arrays and single conditions", () => {
    expect(flatConditions(withConditions({ and: [leaf] }))).toEqual({ combine: "and", list: [leaf] });
    expect(flatConditions(withConditions({ or: [leaf, leaf] }))?.combine).toBe("or");
    expect(flatConditions(withConditions([leaf]))?.list).toEqual([leaf]);
    expect(flatConditions(withConditions(leaf))?.list).toEqual([leaf]);
    expect(flatConditions(withConditions(null))).toEqual({ combine: "and", list: [] });
  });

  it("refuses nested trees instead of flattening them", () => {
    expect(flatConditions(withConditions({ and: [leaf, { or: [leaf] }] }))).toBeNull();
    expect(flatConditions(withConditions({ not: leaf }))).toBeNull();
  });
});
