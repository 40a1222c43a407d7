import { describe, expect, it } from "vitest";
import { arrange, type Item, place, sectionsByOrder, sectionsByPosition, toBox, toCell, toSize } from "./layout";

const pos = (items: Item[]) => Object.fromEntries(items.map((i) => [i.id, [i.x, i.y, i.w, i.h]]));

describe("grid", () => {
  it("boxes on 192 columns of 17 px rows with 4 px margins", () => {
    expect(toBox({ id: "a", x: 96, y: 2, w: 96, h: 18 }, 1920)).toEqual({ left: 962, top: 36, width: 956, height: 302 });
    expect(toCell(955, 40, 96, 1920)).toEqual({ x: 96, y: 2 });
    expect(toCell(5000, -3, 96, 1920)).toEqual({ x: 96, y: 0 });
    expect(toSize(956, 302, 0, 1920)).toEqual({ w: 96, h: 18 });
  });

  it("panels fall up into free space", () => {
    const items = [
      { id: "a", x: 0, y: 5, w: 96, h: 10 },
      { id: "b", x: 96, y: 30, w: 96, h: 10 },
      { id: "c", x: 0, y: 40, w: 192, h: 4 },
    ];
    expect(pos(arrange(items, sectionsByOrder(items)))).toEqual({ a: [0, 0, 96, 10], b: [96, 0, 96, 10], c: [0, 10, 192, 4] });
  });

  it("overlapping panels are pushed down", () => {
    const items = [
      { id: "a", x: 0, y: 0, w: 100, h: 10 },
      { id: "b", x: 50, y: 2, w: 100, h: 10 },
    ];
    expect(pos(arrange(items, sectionsByOrder(items)))).toEqual({ a: [0, 0, 100, 10], b: [50, 10, 100, 10] });
  });

  const withRows: Item[] = [
    { id: "r1", x: 0, y: 0, w: 192, h: 2, row: true },
    { id: "a", x: 0, y: 2, w: 96, h: 10 },
    { id: "b", x: 96, y: 2, w: 96, h: 10 },
    { id: "r2", x: 0, y: 12, w: 192, h: 2, row: true },
    { id: "c", x: 0, y: 14, w: 192, h: 10 },
  ];

  it("a collapsed row hides its section and the rows below move up", () => {
    const sections = sectionsByOrder(withRows);
    expect(sections).toEqual([undefined, "r1", "r1", undefined, "r2"]);
    expect(pos(arrange(withRows, sections, new Set(["r1"])))).toEqual({ r1: [0, 0, 192, 2], r2: [0, 2, 192, 2], c: [0, 4, 192, 10] });
    expect(pos(arrange(withRows, sections, new Set(["r2"])))).toEqual({ r1: [0, 0, 192, 2], a: [0, 2, 96, 10], b: [96, 2, 96, 10], r2: [0, 12, 192, 2] });
  });

  it("panels of a collapsed row stored over the next row stay in their section when expanded", () => {
    // As Grafana stores a collapsed row: its panels keep positions the rows below have taken.
    const items: Item[] = [
      { id: "r1", x: 0, y: 0, w: 192, h: 2, row: true },
      { id: "a", x: 0, y: 2, w: 192, h: 10 },
      { id: "r2", x: 0, y: 2, w: 192, h: 2, row: true },
      { id: "c", x: 0, y: 4, w: 192, h: 10 },
    ];
    expect(pos(arrange(items, sectionsByOrder(items)))).toEqual({ r1: [0, 0, 192, 2], a: [0, 2, 192, 10], r2: [0, 12, 192, 2], c: [0, 14, 192, 10] });
  });

  it("dropping a panel takes the place and pushes the others down", () => {
    const laid = arrange(withRows, sectionsByOrder(withRows));
    // c dragged to the top of the first section, next to nothing: a and b move below it.
    const moved = place(laid, "c", { x: 0, y: 2 });
    expect(pos(moved)).toEqual({ r1: [0, 0, 192, 2], c: [0, 2, 192, 10], a: [0, 12, 96, 10], b: [96, 12, 96, 10], r2: [0, 22, 192, 2] });
    expect(sectionsByPosition(moved)).toEqual([undefined, "r1", "r1", "r1", undefined]);
  });

  it("dragging a panel down over another swaps them", () => {
    const items = [
      { id: "a", x: 0, y: 0, w: 96, h: 10 },
      { id: "c", x: 0, y: 10, w: 96, h: 10 },
    ];
    expect(pos(place(items, "a", { y: 12 }))).toEqual({ c: [0, 0, 96, 10], a: [0, 10, 96, 10] });
  });

  it("resizing pushes the panels below", () => {
    const laid = arrange(withRows, sectionsByOrder(withRows));
    const resized = place(laid, "a", { h: 20 });
    expect(pos(resized).r2).toEqual([0, 22, 192, 2]);
    expect(pos(resized).c).toEqual([0, 24, 192, 10]);
    const wide = place(laid, "a", { w: 150 });
    expect(pos(wide).a).toEqual([0, 2, 150, 10]);
    expect(pos(wide).b).toEqual([96, 12, 96, 10]);
  });
});
