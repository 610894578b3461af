// What the page's maps share in drawing: elements, the canvas of cells, token axes, sizes,
// printed values, tooltips, and following the map's settings (see app/weights_map.py).
// Token labels are set as text, never parsed as HTML.

import { largestOf } from "./numeric.mjs";

export const SVG = "http://www.w3.org/2000/svg";
export const FONT = "sans-serif";
export const GAP = 16; // between a map, its row statistics and the legend (and the three maps)
export const SETTINGS_EVENT = "attention:w-settings"; // the map's settings, on every move

export function el(tag, attrs = {}, parent = null, ns = null) {
  const node = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

export function svg(tag, attrs, parent) {
  return el(tag, attrs, parent, SVG);
}

// One pixel a cell on a rows x cols scratch canvas, stretched unsmoothed onto canvas.
export function paintCells(canvas, scratch, rows, cols, colourOf) {
  scratch.width = cols;
  scratch.height = rows;
  const small = scratch.getContext("2d");
  const image = small.createImageData(cols, rows);
  for (let k = 0; k < rows * cols; k++) {
    const [r, g, b] = colourOf(k);
    image.data[4 * k] = r;
    image.data[4 * k + 1] = g;
    image.data[4 * k + 2] = b;
    image.data[4 * k + 3] = 255;
  }
  small.putImageData(image, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(scratch, 0, 0, canvas.width, canvas.height);
}

let measure = null; // a canvas to measure text with, made on first use

export function textWidth(text, size) {
  measure ??= document.createElement("canvas");
  const ctx = measure.getContext("2d");
  ctx.font = `${size}px ${FONT}`;
  return ctx.measureText(text).width;
}

// A label longer than limit pixels ends in "…" (its cell's tooltip names it whole).
export function fitText(text, size, limit) {
  if (textWidth(text, size) <= limit) return text;
  let cut = text;
  while (cut.length > 1 && textWidth(cut + "…", size) > limit) cut = cut.slice(0, -1);
  return cut + "…";
}

// ---- what both kinds of map share: token names on the axes, sizes, printed values ----

// Which tokens each axis names (every k-th, as the server chose), fitted to the label
// limit, and the room they take: the widest row name and the depth of the column names.
export function tokenLabels(d) {
  const every = (k) => Array.from({ length: Math.ceil(d.t / k) }, (_, n) => n * k);
  const yShown = every(d.y.every);
  const xShown = d.x ? every(d.x.every) : []; // Y names only its rows
  const yTexts = yShown.map((i) => fitText(d.labels[i], d.y.font, d.labelLimit));
  const xTexts = xShown.map((j) => fitText(d.labels[j], d.x.font, d.labelLimit));
  const yWidth = largestOf(yTexts, 0, (s) => textWidth(s, d.y.font));
  const xWidth = largestOf(xTexts, 0, (s) => textWidth(s, d.x.font));
  let xDepth = 0;
  if (d.x) xDepth = d.x.angle === 0 ? d.x.font : d.x.angle === -90 ? xWidth : (xWidth + d.x.font) * Math.SQRT1_2;
  return { yShown, xShown, yTexts, xTexts, yWidth, xDepth };
}

// Under map.root: a note line, then a frame (it scrolls when the plot is wider than the
// page) holding the plot: its SVG (the text) over its canvas (the cells), and a tooltip.
export function framedPlot(map) {
  map.note = el("div", { class: "note" }, map.root);
  map.frame = el("div", { class: "frame" }, map.root);
  map.plot = el("div", { class: "plot" }, map.frame);
  map.svg = svg("svg", { role: "img" }, map.plot);
  map.canvas = el("canvas", { "aria-hidden": "true" }, map.plot);
  map.tip = el("div", { class: "tip", hidden: "" }, map.plot);
}

// A plot width x height: its SVG (the text) over its canvas (the cells, cellsWidth x
// cellsHeight pixels at left, top), the canvas at the screen's own pixel density.
export function sizePlot({ svg: node, plot, canvas }, width, height, left, top, cellsWidth, cellsHeight = cellsWidth) {
  Object.assign(node.style, { width: `${width}px`, height: `${height}px` });
  node.setAttribute("viewBox", `0 0 ${width} ${height}`);
  Object.assign(plot.style, { width: `${width}px`, height: `${height}px` });
  Object.assign(canvas.style, { left: `${left}px`, top: `${top}px`, width: `${cellsWidth}px`, height: `${cellsHeight}px` });
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(cellsWidth * ratio);
  canvas.height = Math.round(cellsHeight * ratio);
}

// The token names beside the rows and under the columns of a map of cell-pixel cells.
export function drawTokenAxes(node, d, names, left, top, cell) {
  drawRowNames(node, d, names, left, top, cell);
  const font = { "font-family": FONT, fill: d.labelInk };
  const side = cell * d.t;
  const xAxis = svg("g", { class: "axis x", ...font, "font-size": d.x.font }, node);
  names.xShown.forEach((j, n) => {
    const x = left + (j + 0.5) * cell;
    const y = top + side + 6;
    const label = svg("text", {}, xAxis);
    if (d.x.angle === 0) {
      Object.entries({ x, y: y + d.x.font * 0.8, "text-anchor": "middle" }).forEach(([a, v]) => label.setAttribute(a, v));
    } else {
      label.setAttribute("transform", `translate(${x},${y}) rotate(${d.x.angle})`);
      label.setAttribute("text-anchor", "end");
      label.setAttribute("dominant-baseline", "central");
    }
    label.textContent = names.xTexts[n];
  });
}

// The token names beside the rows, each rowHeight pixels tall, of a plot at left, top.
export function drawRowNames(node, d, names, left, top, rowHeight) {
  const yAxis = svg("g", { class: "axis y", "font-family": FONT, fill: d.labelInk, "font-size": d.y.font }, node);
  names.yShown.forEach((i, n) => {
    const label = svg("text", { x: left - 6, y: top + (i + 0.5) * rowHeight, "text-anchor": "end", "dominant-baseline": "central" }, yAxis);
    label.textContent = names.yTexts[n];
  });
}

// One text a cell for its printed value, when the cells are few (else null).
export function valueTexts(node, d, left, top, cell) {
  if (!d.printValues) return null;
  const g = svg("g", { class: "values", "font-family": FONT, "font-size": d.valueFont, "pointer-events": "none" }, node);
  const texts = [];
  for (let i = 0; i < d.t; i++) {
    for (let j = 0; j < d.t; j++) {
      texts.push(svg("text", { x: left + (j + 0.5) * cell, y: top + (i + 0.5) * cell, "text-anchor": "middle", "dominant-baseline": "central" }, g));
    }
  }
  return texts;
}

// The cell (i, j) under the pointer of a map of rows x cols cells (square unless cols is
// given), or null.
export function cellAt(canvas, rows, event, cols = rows) {
  const box = canvas.getBoundingClientRect();
  const j = Math.floor(((event.clientX - box.left) / box.width) * cols);
  const i = Math.floor(((event.clientY - box.top) / box.height) * rows);
  return i >= 0 && i < rows && j >= 0 && j < cols ? [i, j] : null;
}

// A cell's tooltip, beside the pointer (the plot's canvas sits at left, top).
export function showTip(tip, canvas, { left, top }, event, text) {
  const box = canvas.getBoundingClientRect();
  tip.textContent = text;
  tip.style.left = `${left + event.clientX - box.left + 14}px`;
  tip.style.top = `${top + event.clientY - box.top + 14}px`;
  tip.hidden = false;
}

// A map's settings from the server: taken only when they differ from what it last sent
// (a link, a new mode), so the page's own moves are not undone by a redraw.
export function takeServerSettings(map, settings) {
  if (JSON.stringify(settings) === JSON.stringify(map.served)) return;
  map.served = { ...settings };
  map.settings = { ...settings };
}

// map.draw() at the next frame, once however many moves come before it.
export function drawNextFrame(map) {
  if (map.frameRequested) return;
  map.frameRequested = true;
  requestAnimationFrame(() => {
    map.frameRequested = false;
    map.draw();
  });
}

// A component that follows the map (step 5's Y, step 8's comparison): one View per
// element, given each new data, and the map's every move through a window event (one
// listener at a time, gone on unmount).
export function follow(root, data, View) {
  let maps = root.__follower;
  if (!maps) {
    maps = new View(root);
    root.__follower = maps;
  }
  maps.update(data);
  if (maps.follow) window.removeEventListener(SETTINGS_EVENT, maps.follow);
  maps.follow = (event) => maps.moved(event.detail);
  window.addEventListener(SETTINGS_EVENT, maps.follow);
  return () => window.removeEventListener(SETTINGS_EVENT, maps.follow);
}

// A new width (a phone turned, the sidebar closed) lays maps out again.
export function relayoutOnResize(maps) {
  maps.width = 0;
  new ResizeObserver(() => {
    if (maps.data && maps.root.clientWidth !== maps.width) {
      maps.layout();
      maps.draw();
    }
  }).observe(maps.root);
}

// The keyboard's way into a map of cells drawn on a canvas: Tab enters at a cell, the arrow
// keys move a visible cursor (Home and End within a row), Enter or Space picks the cell as
// a click does, Escape leaves. The focused cell shows its tooltip, and a polite live region
// says what it holds. map has canvas, svg, tip, geometry and root; describe(i, j) gives
// { tip, say } for a cell; pick(i, j) is what a click does (none: the map only reads);
// unit names what the cells are ("heads").
let summaries = 0; // ids for the maps' summaries, unique in the page

export class CellCursor {
  constructor(map, { name, describe, pick = null, unit = "cells" }) {
    Object.assign(this, { map, describe, pick, unit, i: 0, j: 0, rows: 0, cols: 0 });
    const { canvas } = map;
    canvas.setAttribute("tabindex", "0");
    canvas.setAttribute("role", "application");
    canvas.setAttribute("aria-roledescription", "map of cells");
    canvas.removeAttribute("aria-hidden");
    this.rename(name);
    this.live = el("div", { class: "sr-only", "aria-live": "polite" }, map.root);
    // what the whole map shows for this text, read with its name (not announced on change)
    this.summary = el("div", { class: "sr-only", id: `map-summary-${++summaries}` }, map.root);
    canvas.setAttribute("aria-describedby", this.summary.id);
    canvas.addEventListener("keydown", (e) => this.key(e));
    canvas.addEventListener("focus", () => this.show());
    canvas.addEventListener("blur", () => this.hide());
  }

  rename(name) {
    const keys = `the arrow keys move between ${this.unit}${this.pick ? ", Enter picks one" : ""}`;
    this.map.canvas.setAttribute("aria-label", `${name}: ${keys}`);
  }

  // After each layout: the grid's size, and a fresh cursor in the new SVG.
  place(rows, cols, left, top, cellWidth, cellHeight = cellWidth) {
    Object.assign(this, { rows, cols, left, top, cellWidth, cellHeight });
    this.i = Math.min(this.i, rows - 1);
    this.j = Math.min(this.j, cols - 1);
    // two rings, the text's colour around the background's: one shows on any cell
    this.box = svg("g", { class: "cursor", visibility: "hidden" }, this.map.svg);
    svg("rect", { class: "outer", width: cellWidth, height: cellHeight }, this.box);
    svg("rect", { class: "inner", x: 1.5, y: 1.5, width: Math.max(cellWidth - 3, 1), height: Math.max(cellHeight - 3, 1) }, this.box);
  }

  // After each draw: a focused cell's tooltip and words follow its new value.
  redraw() {
    if (this.map.canvas.matches(":focus")) this.show();
  }

  // One sentence on what the map shows now, for a screen reader.
  summarise(text) {
    this.summary.textContent = text;
  }

  // A click puts the cursor where it clicked.
  moveTo(i, j) {
    Object.assign(this, { i, j });
  }

  key(event) {
    const moves = {
      ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1],
      Home: [0, -this.cols], End: [0, this.cols],
    };
    if (moves[event.key]) {
      const [di, dj] = moves[event.key];
      this.i = Math.min(Math.max(this.i + di, 0), this.rows - 1);
      this.j = Math.min(Math.max(this.j + dj, 0), this.cols - 1);
      this.show();
    } else if ((event.key === "Enter" || event.key === " ") && this.pick) {
      this.pick(this.i, this.j);
    } else if (event.key === "Escape") {
      this.map.canvas.blur();
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  }

  // The cursor on the focused cell, its tooltip beside it, and its words for a reader.
  show() {
    if (!this.box || !this.rows) return;
    const { i, j, left, top, cellWidth, cellHeight } = this;
    this.box.setAttribute("transform", `translate(${left + j * cellWidth},${top + i * cellHeight})`);
    this.box.setAttribute("visibility", "visible");
    this.box.scrollIntoView?.({ block: "nearest", inline: "nearest" }); // in a frame on a phone
    const { tip, say } = this.describe(i, j);
    const box = this.map.canvas.getBoundingClientRect();
    const at = { clientX: box.left + (j + 1) * cellWidth, clientY: box.top + (i + 1) * cellHeight };
    showTip(this.map.tip, this.map.canvas, this.map.geometry, at, tip);
    this.live.textContent = say;
  }

  hide() {
    this.box?.setAttribute("visibility", "hidden");
    this.map.tip.hidden = true;
  }
}
