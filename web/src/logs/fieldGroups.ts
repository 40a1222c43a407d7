// The field sidebar's tree: fields sharing a prefix (`kubernetes_*`, `k8s_*`, `service_*`,
// `attr_*`, or any prefix of three or more fields) are grouped under it, one level deeper for
// prefixes inside a group (`kubernetes_labels_*`). Fields keep their order; a group sits where its
// first field was.

export type FieldNode<F> =
  | { kind: "field"; field: F; name: string; label: string }
  | { kind: "group"; path: string; label: string; count: number; children: FieldNode<F>[] };

/** Prefixes grouped from two fields on. */
export const KNOWN_PREFIXES = ["kubernetes", "k8s", "service", "attr", "attributes", "resource", "labels"];
const MIN_GROUP = 3;
const MAX_DEPTH = 2;

function firstSegment(label: string): string | undefined {
  const at = label.indexOf("_");
  return at > 0 && at < label.length - 1 ? label.slice(0, at) : undefined;
}

function build<F>(items: { field: F; name: string; label: string }[], path: string, depth: number): FieldNode<F>[] {
  const counts = new Map<string, number>();
  for (const item of items) {
    const prefix = firstSegment(item.label);
    if (prefix) counts.set(prefix, (counts.get(prefix) ?? 0) + 1);
  }
  const grouped = (prefix: string | undefined) => {
    if (!prefix || depth >= MAX_DEPTH) return false;
    const count = counts.get(prefix) ?? 0;
    return count >= MIN_GROUP || (depth === 0 && count >= 2 && KNOWN_PREFIXES.includes(prefix));
  };
  const nodes: FieldNode<F>[] = [];
  const groups = new Map<string, { field: F; name: string; label: string }[]>();
  for (const item of items) {
    const prefix = firstSegment(item.label);
    if (!prefix || !grouped(prefix)) {
      nodes.push({ kind: "field", ...item });
      continue;
    }
    if (!groups.has(prefix)) {
      groups.set(prefix, []);
      nodes.push({ kind: "group", path: `${path}${prefix}`, label: prefix, count: 0, children: [] });
    }
    groups.get(prefix)!.push({ ...item, label: item.label.slice(prefix.length + 1) });
  }
  for (const node of nodes) {
    if (node.kind !== "group") continue;
    const members = groups.get(node.label)!;
    node.count = members.length;
    node.children = build(members, `${node.path}_`, depth + 1);
  }
  return nodes;
}

/** The tree of `fields` named by `nameOf`. */
export function groupFields<F>(fields: F[], nameOf: (field: F) => string): FieldNode<F>[] {
  return build(
    fields.map((field) => ({ field, name: nameOf(field), label: nameOf(field) })),
    "",
    0,
  );
}
