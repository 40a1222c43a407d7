// Pure helpers of the pipeline editor.
import type { PipelineResult } from "../api";

/** Parses the editor's text; the error says where it is wrong. */
export function parseJsonText<T>(text: string, what: string): { value?: T; error?: string } {
  try {
    return { value: JSON.parse(text) as T };
  } catch (e) {
    return { error: `${what} is not valid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** One line of a test run's outcome. */
export function describeResult(result: PipelineResult): string {
  const joined = result.joined_records?.length ? ` (joined with ${result.joined_records.join(", ")})` : "";
  if (result.error) return `record ${result.record_number}: refused: ${result.error}`;
  if (result.dropped) return `record ${result.record_number}${joined}: dropped`;
  if (result.failed) return `record ${result.record_number}${joined}: the pipeline failed (${result.failed}); stored unprocessed in ${result.stream}`;
  const where = result.routed ? `routed to ${result.stream}` : `stored in ${result.stream}`;
  return `record ${result.record_number}${joined}: ${where}`;
}
