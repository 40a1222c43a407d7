// The panel grid: o2's 192 columns of 17 px rows with 4 px between panels. Panels fall up into
// free space (vertical compaction, as gridstack and Grafana do); `row` panels are full-width
// section headers, and a collapsed row hides the panels of its section (up to the next row).

export const COLS = 192;
export const ROW_HEIGHT = 17;
export const MARGIN = 4;

export interface Item {
  id: string;
  x: number;
  y: number;
  w: number;
  h: number;
  row?: boolean;
}

export const collides = (a: Item, b: Item) =>
  a.id !== b.id && a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

export const bottom = (items: Item[]) => items.reduce((max, item) => Math.max(max, item.y + item.h), 0);

/** Keeps an item on the grid: at least one cell, inside the columns. */
export function clampItem(item: Item): Item {
  const w = Math.max(1, Math.min(COLS, Math.round(item.w)));
  return { ...item, w, h: Math.max(1, Math.round(item.h)), x: Math.max(0, Math.min(COLS - w, Math.round(item.x))), y: Math.max(0, Math.round(item.y)) };
}

/** The row each item belongs to: the last row before it in the list (the document's order). */
export function sectionsByOrder(items: Item[]): (string | undefined)[] {
  let current: string | undefined;
  return items.map((item) => {
    if (item.row) current = item.id;
    return item.row ? undefined : current;
  });
}

/** The row each item belongs to: the lowest row at or above it. */
export function sectionsByPosition(items: Item[]): (string | undefined)[] {
  const rows = items.filter((i) => i.row).sort((a, b) => a.y - b.y);
  return items.map((item) => {
    if (item.row) return undefined;
    let found: string | undefined;
    for (const row of rows) if (row.y <= item.y) found = row.id;
    return found;
  });
}

/**
 * The items to show, laid out: those of collapsed rows left out, sections in the order of their
 * rows, each item falling up as far as it can (never above its row), and pushed down below
 * anything it would overlap.
 */
export function arrange(items: Item[], sections: (string | undefined)[], collapsed: ReadonlySet<string> = new Set()): Item[] {
  const rowRank = new Map(
    items
      .filter((i) => i.row)
      .sort((a, b) => a.y - b.y || a.x - b.x)
      .map((row, index) => [row.id, index]),
  );
  const entries = items
    .map((item, index) => ({ item: clampItem(item), section: sections[index], index }))
    .filter((e) => !(e.section && collapsed.has(e.section)));
  const rank = (e: (typeof entries)[number]) => (e.item.row ? rowRank.get(e.item.id)! : e.section ? rowRank.get(e.section)! : -1);
  entries.sort((a, b) => rank(a) - rank(b) || (b.item.row ? 1 : 0) - (a.item.row ? 1 : 0) || a.item.y - b.item.y || a.item.x - b.item.x || a.index - b.index);
  const placed: Item[] = [];
  const placedRows = new Map<string, Item>();
  for (const { item, section } of entries) {
    const l = { ...item };
    const row = section ? placedRows.get(section) : undefined;
    if (row) l.y = Math.max(l.y, row.y + row.h);
    while (l.y > 0 && !placed.some((p) => collides(p, { ...l, y: l.y - 1 }))) l.y--;
    for (let hit = placed.find((p) => collides(p, l)); hit; hit = placed.find((p) => collides(p, l))) l.y = hit.y + hit.h;
    placed.push(l);
    if (l.row) placedRows.set(l.id, l);
  }
  return placed;
}

/** `items` (laid out) with `id` moved or resized to `target`, the others pushed out of its way
 * and everything fallen up again. */
export function place(items: Item[], id: string, target: Partial<Item>): Item[] {
  const moved = items.map((item) => (item.id === id ? clampItem({ ...item, ...target }) : item));
  const self = moved.find((i) => i.id === id);
  if (!self) return items;
  // The moved item first among equals, so that it takes the place it was dropped on.
  const others = moved.filter((i) => i.id !== id);
  const pushed: Item[] = [self];
  for (const other of [...others].sort((a, b) => a.y - b.y || a.x - b.x)) {
    const l = { ...other };
    // Dragged down over an item that starts above it: that item moves up above it if it can.
    const up = { ...l, y: self.y - l.h };
    if (collides(self, l) && l.y < self.y && up.y >= 0 && !moved.some((m) => m.id !== l.id && collides(m, up))) l.y = up.y;
    for (let hit = pushed.find((p) => collides(p, l)); hit; hit = pushed.find((p) => collides(p, l))) l.y = hit.y + hit.h;
    pushed.push(l);
  }
  const ordered = [self, ...pushed.slice(1)].sort((a, b) => a.y - b.y || (a.id === id ? -1 : b.id === id ? 1 : a.x - b.x));
  return arrange(ordered, sectionsByPosition(ordered));
}

export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Where an item is drawn in a grid `width` pixels wide. */
export function toBox(item: Item, width: number): Box {
  const col = width / COLS;
  return {
    left: item.x * col + MARGIN / 2,
    top: item.y * ROW_HEIGHT + MARGIN / 2,
    width: Math.max(0, item.w * col - MARGIN),
    height: Math.max(0, item.h * ROW_HEIGHT - MARGIN),
  };
}

/** The grid cell nearest to a pixel position (of an item's top left corner). */
export function toCell(left: number, top: number, w: number, width: number): { x: number; y: number } {
  const col = width / COLS;
  return { x: Math.max(0, Math.min(COLS - w, Math.round(left / col))), y: Math.max(0, Math.round(top / ROW_HEIGHT)) };
}

/** The size in cells nearest to a pixel size. */
export function toSize(pixelWidth: number, pixelHeight: number, x: number, width: number): { w: number; h: number } {
  const col = width / COLS;
  return { w: Math.max(8, Math.min(COLS - x, Math.round((pixelWidth + MARGIN) / col))), h: Math.max(2, Math.round((pixelHeight + MARGIN) / ROW_HEIGHT)) };
}

/** A free place at the bottom for a new item `w` wide. */
export const slotAtBottom = (items: Item[], w: number, h: number) => ({ x: 0, y: bottom(items), w, h });
