// The panel grid (layout.ts): panels absolutely placed on 192 columns of 17 px rows. In edit
// mode a panel's header drags it and its corner resizes it; the others make room as it moves,
// and the layout is committed when it is dropped.
import { type PointerEvent as ReactPointerEvent, type ReactNode, useEffect, useMemo, useRef, useState } from "react";
import { arrange, bottom, type Box, type Item, place, ROW_HEIGHT, sectionsByOrder, toBox, toCell, toSize } from "./layout";
import type { Panel } from "./types";

interface Drag {
  id: string;
  mode: "move" | "resize";
  pointerX: number;
  pointerY: number;
  origin: Box;
  box: Box;
  preview: Item[];
}

interface Props {
  panels: Panel[];
  collapsed: ReadonlySet<string>;
  editing: boolean;
  onLayout: (items: Item[]) => void;
  render: (panel: Panel, dragStart?: (e: ReactPointerEvent) => void) => ReactNode;
}

export const itemOf = (panel: Panel): Item => ({
  id: panel.id,
  x: Number(panel.layout?.x) || 0,
  y: Number(panel.layout?.y) || 0,
  w: Number(panel.layout?.w) || 96,
  h: Number(panel.layout?.h) || 18,
  row: panel.type === "row",
});

export function Grid({ panels, collapsed, editing, onLayout, render }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  const [drag, setDrag] = useState<Drag | null>(null);
  const items = useMemo(() => {
    const all = panels.map(itemOf);
    return arrange(all, sectionsByOrder(all), collapsed);
  }, [panels, collapsed]);
  const byId = useMemo(() => new Map(panels.map((p) => [p.id, p])), [panels]);

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setWidth(element.clientWidth));
    observer.observe(element);
    setWidth(element.clientWidth);
    return () => observer.disconnect();
  }, []);

  const dragRef = useRef(drag);
  dragRef.current = drag;
  const layoutRef = useRef(onLayout);
  layoutRef.current = onLayout;

  useEffect(() => {
    if (!drag) return;
    const move = (e: PointerEvent) => {
      const current = dragRef.current;
      if (!current) return;
      const dx = e.clientX - current.pointerX;
      const dy = e.clientY - current.pointerY;
      const self = items.find((i) => i.id === current.id)!;
      let box: Box;
      let target: Partial<Item>;
      if (current.mode === "move") {
        box = { ...current.origin, left: current.origin.left + dx, top: current.origin.top + dy };
        target = toCell(box.left, box.top, self.w, width);
      } else {
        box = { ...current.origin, width: Math.max(40, current.origin.width + dx), height: Math.max(30, current.origin.height + dy) };
        target = self.row ? { h: self.h } : toSize(box.width, box.height, self.x, width);
      }
      setDrag({ ...current, box, preview: place(items, current.id, target) });
    };
    const up = () => {
      const current = dragRef.current;
      setDrag(null);
      if (current) layoutRef.current(current.preview);
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
    return () => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
    };
  }, [drag !== null, items, width]); // eslint-disable-line react-hooks/exhaustive-deps

  const start = (id: string, mode: Drag["mode"]) => (e: ReactPointerEvent) => {
    if (!editing || e.button !== 0) return;
    if (mode === "move" && (e.target as Element).closest("button, a, input, select, .panel-menu")) return;
    const item = items.find((i) => i.id === id);
    if (!item) return;
    e.preventDefault();
    e.stopPropagation();
    const origin = toBox(item, width);
    setDrag({ id, mode, pointerX: e.clientX, pointerY: e.clientY, origin, box: origin, preview: items });
  };

  const shown = drag ? drag.preview : items;
  const height = (bottom(shown) + (drag ? 6 : 0)) * ROW_HEIGHT;
  const dragged = drag ? shown.find((i) => i.id === drag.id) : undefined;

  return (
    <div className={editing ? "dash-grid editing" : "dash-grid"} ref={host} style={{ height }} data-testid="grid">
      {width > 0 &&
        shown.map((item) => {
          const panel = byId.get(item.id);
          if (!panel) return null;
          const isDragged = drag?.id === item.id;
          const box = isDragged ? drag!.box : toBox(item, width);
          return (
            <div
              key={item.id}
              className={isDragged ? "grid-item dragging" : "grid-item"}
              style={{ left: box.left, top: box.top, width: box.width, height: box.height }}
              data-layout={`${item.x},${item.y},${item.w},${item.h}`}
            >
              {render(panel, editing ? start(item.id, "move") : undefined)}
              {editing && !item.row && <div className="resize-corner" aria-label="Resize" onPointerDown={start(item.id, "resize")} />}
            </div>
          );
        })}
      {dragged && width > 0 && <div className="grid-placeholder" style={toBox(dragged, width)} />}
    </div>
  );
}
