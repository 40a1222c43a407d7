// The alert editor edits a flat list of conditions joined by AND or OR. Documents from the API
// or from YAML may nest `and` / `or` / `not`; those are shown read-only rather than flattened.
import type { Alert, Condition } from "../alertsApi";

export type Combine = "and" | "or";

export interface FlatConditions {
  combine: Combine;
  list: Condition[];
}

const isLeaf = (value: unknown): value is Condition =>
  typeof value === "object" && value !== null && "column" in value && !("and" in value) && !("or" in value) && !("not" in value);

/** The conditions as a flat list, or `null` when they nest and the editor cannot show them. */
export function flatConditions(alert: Alert): FlatConditions | null {
  const conditions: unknown = alert.query_condition.conditions;
  if (conditions === null || conditions === undefined) return { combine: "and", list: [] };
  let combine: Combine = "and";
  let list: unknown[];
  if (Array.isArray(conditions)) list = conditions;
  else if (typeof conditions === "object" && "and" in conditions) list = (conditions as { and: unknown[] }).and;
  else if (typeof conditions === "object" && "or" in conditions) {
    combine = "or";
    list = (conditions as { or: unknown[] }).or;
  } else if (isLeaf(conditions)) list = [conditions];
  else return null;
  return list.every(isLeaf) ? { combine, list: list as Condition[] } : null;
}
