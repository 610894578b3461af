// Step 9's grid: every head's W as a small picture, one row per layer (see app/heads_grid.py).
//
// The server sends one image holding every head's thumbnail, tile by tile, and a sentence
// for each head. The pictures are painted on one canvas; the head numbers, the layer
// numbers and the outline of the head every step shows are SVG above it. Hover shows a
// head's sentence; a click picks the head, and so does Enter on the keyboard's cursor.

import { CellCursor, FONT, cellAt, el, framedPlot, showTip, sizePlot, svg, textWidth } from "./drawing.mjs";

const APART = 8; // between two pictures

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let grid = parentElement.__headsGrid;
  if (!grid) {
    grid = new HeadsGrid(parentElement);
    parentElement.__headsGrid = grid;
  }
  grid.report = setTriggerValue;
  grid.update(data);
}

class HeadsGrid {
  constructor(root) {
    this.root = el("div", { class: "heads-grid" }, root);
    framedPlot(this);
    this.image = new Image();
    this.image.addEventListener("load", () => this.draw());
    this.cursor = new CellCursor(this, {
      name: "Every head",
      unit: "heads",
      describe: (i, j) => this.describe(i, j),
      pick: (i, j) => this.pick(i, j),
    });
    this.canvas.addEventListener("pointermove", (e) => this.hover(e));
    this.canvas.addEventListener("pointerleave", () => (this.tip.hidden = true));
    this.canvas.addEventListener("click", (e) => {
      const at = cellAt(this.canvas, this.data.layers, e, this.data.heads);
      if (!at) return;
      this.cursor.moveTo(...at);
      this.pick(...at);
    });
  }

  update(data) {
    this.data = data;
    this.layout();
    if (data.atlas !== this.atlas) {
      this.atlas = data.atlas;
      delete this.canvas.dataset.drawn;
      this.image.src = data.atlas; // drawn once it has loaded
    } else if (this.image.complete) {
      this.draw();
    }
  }

  // ---- layout: once per data ---------------------------------------------------------

  layout() {
    const d = this.data;
    const pitch = d.size + APART;
    const font = { "font-family": FONT, fill: d.labelInk, "font-size": d.font };
    const numbers = textWidth(String(d.layers - 1), d.font);
    const left = d.titleFont + 8 + numbers + 8;
    const top = d.titleFont + 6 + d.font + 6;
    const width = left + d.heads * pitch + 8; // room for the focus ring
    const height = top + d.layers * pitch + 8;
    this.svg.replaceChildren();
    this.svg.setAttribute("aria-label", "Every head, layer by layer");
    this.geometry = { left, top, pitch };
    sizePlot(this, width, height, left, top, d.heads * pitch, d.layers * pitch);
    this.cursor.place(d.layers, d.heads, left, top, pitch);

    const axes = svg("g", { class: "axis", ...font }, this.svg);
    for (let h = 0; h < d.heads; h++) {
      const x = left + (h + 0.5) * pitch;
      svg("text", { x, y: top - 6, "text-anchor": "middle" }, axes).textContent = String(h);
    }
    for (let l = 0; l < d.layers; l++) {
      const y = top + (l + 0.5) * pitch;
      const attrs = { x: left - 6, y, "text-anchor": "end", "dominant-baseline": "central" };
      svg("text", attrs, axes).textContent = String(l);
    }
    const titles = svg("g", { class: "titles", ...font, "font-size": d.titleFont, "font-weight": "bold" }, this.svg);
    const head = svg("text", { x: left + (d.heads * pitch) / 2, y: d.titleFont, "text-anchor": "middle" }, titles);
    head.textContent = "head";
    const layer = svg("text", { transform: `translate(${d.titleFont},${top + (d.layers * pitch) / 2}) rotate(-90)`, "text-anchor": "middle" }, titles);
    layer.textContent = "layer";

    // the head every step shows, outlined
    const [l, h] = d.shown;
    const x = left + h * pitch + APART / 2 - 2;
    const y = top + l * pitch + APART / 2 - 2;
    svg("rect", { class: "edge", x, y, width: d.size + 4, height: d.size + 4, stroke: d.edge }, this.svg);
    this.cursor.summarise(d.summary);
  }

  // ---- drawing: once the pictures have loaded ---------------------------------------

  draw() {
    const d = this.data;
    const ctx = this.canvas.getContext("2d");
    const scale = this.canvas.width / (d.heads * this.geometry.pitch);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.imageSmoothingEnabled = false;
    const s = d.side;
    const size = d.size * scale;
    for (let l = 0; l < d.layers; l++) {
      for (let h = 0; h < d.heads; h++) {
        const x = (h * this.geometry.pitch + APART / 2) * scale;
        const y = (l * this.geometry.pitch + APART / 2) * scale;
        ctx.drawImage(this.image, h * s, l * s, s, s, x, y, size, size);
      }
    }
    this.canvas.dataset.drawn = "true";
    this.cursor.redraw();
  }

  // ---- pointer and keyboard ----------------------------------------------------------

  // A head's tooltip (its sentence, a line a part) and what a screen reader says for it.
  describe(l, h) {
    const say = this.data.says[l * this.data.heads + h];
    const named = say.indexOf(": ");
    const tip = `${say.slice(0, named)}\n${say.slice(named + 2).replace("; mean entropy", "\nmean entropy")}`;
    return { tip, say };
  }

  hover(event) {
    const at = cellAt(this.canvas, this.data.layers, event, this.data.heads);
    if (!at) {
      this.tip.hidden = true;
      return;
    }
    showTip(this.tip, this.canvas, this.geometry, event, this.describe(...at).tip);
  }

  pick(layer, head) {
    this.report("pick", { layer, head });
  }
}
