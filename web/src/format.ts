// Counting words: "1 hit", "2 hits", "1,234 records".

const IRREGULAR: Record<string, string> = { series: "series", entry: "entries", query: "queries", match: "matches" };

/** The plural of an English noun as the UI uses them. */
export function pluralNoun(noun: string): string {
  if (IRREGULAR[noun]) return IRREGULAR[noun];
  if (/(s|x|ch|sh)$/.test(noun)) return `${noun}es`;
  return `${noun}s`;
}

/** `count` with its noun, singular for exactly one: `plural(1, "hit")` → "1 hit". */
export function plural(count: number, noun: string, many?: string): string {
  return `${count.toLocaleString()} ${count === 1 ? noun : (many ?? pluralNoun(noun))}`;
}
