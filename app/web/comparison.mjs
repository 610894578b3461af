// Step 8's comparison: the parameter-free W, the projections' W and their difference,
// recomputed in the browser whenever the map of W moves (see app/weights_map.py).

import { colourAt, decode, inkFor, largestOf, rgb, softmaxRows, strongestCell } from "./numeric.mjs";
import {
  CellCursor, FONT, GAP, cellAt, drawNextFrame, drawTokenAxes, el, follow, paintCells, relayoutOnResize,
  showTip, sizePlot, svg, takeServerSettings, tokenLabels, valueTexts,
} from "./drawing.mjs";

const MIN_SIDE = 150; // the comparison's smallest map, in pixels, before they wrap

export default function (component) {
  return follow(component.parentElement, component.data, ComparisonMaps);
}

class ComparisonMaps {
  constructor(root) {
    this.root = el("div", { class: "w-comparison" }, root);
    this.panels = [0, 1, 2].map(() => {
      const panel = el("div", { class: "panel" }, this.root);
      const plot = el("div", { class: "plot" }, panel);
      const node = svg("svg", { role: "img" }, plot);
      const canvas = el("canvas", { "aria-hidden": "true" }, plot);
      const tip = el("div", { class: "tip", hidden: "" }, plot);
      const one = { root: panel, panel, plot, svg: node, canvas, tip };
      canvas.addEventListener("pointermove", (e) => this.hover(one, e));
      canvas.addEventListener("pointerleave", () => (tip.hidden = true));
      one.cursor = new CellCursor(one, { name: "W", describe: (i, j) => this.describe(one, i, j) });
      return one;
    });
    this.scratch = document.createElement("canvas");
    this.settings = null;
    this.served = null;
    this.frameRequested = false;
    relayoutOnResize(this); // three to a row while they fit
  }

  update(data) {
    takeServerSettings(this, data.settings);
    if (data.panels.map((p) => p.scores).join() !== this.scoresText) {
      this.scoresText = data.panels.map((p) => p.scores).join();
      this.scores = data.panels.map((p) => decode(p.scores));
    }
    this.data = data;
    this.layout();
    this.draw();
  }

  moved(settings) {
    this.settings = { ...settings };
    if (this.data) drawNextFrame(this);
  }

  // ---- the numbers: both W and their difference, under the settings now ----------------

  matrices() {
    const d = this.data;
    const t = d.t;
    const { temperature, scale, causal, stretch } = this.settings;
    const [free, projected] = d.panels.map((p, k) => {
      const factor = (scale ? 1 / Math.sqrt(p.width) : 1) / temperature;
      return softmaxRows(this.scores[k], t, factor, causal).w;
    });
    const difference = projected.map((v, k) => v - free[k]);
    let top = 1;
    let reach = 1;
    if (stretch) {
      top = Math.max(largestOf(free), largestOf(projected));
      reach = largestOf(difference, 1e-12, Math.abs);
    }
    // Each panel's values and its colour range, low to high.
    return [
      [free, 0, top],
      [projected, 0, top],
      [difference, -reach, reach],
    ];
  }

  // ---- layout: once per data -------------------------------------------------------

  layout() {
    const d = this.data;
    const t = d.t;
    const ink = d.labelInk;
    const font = { "font-family": FONT };
    const labels = tokenLabels(d);
    const left = labels.yWidth + 10;
    // As large as asked, but three to a row where the page is wide enough for three of at
    // least MIN_SIDE pixels; else one a row, as wide as the page allows.
    this.width = this.root.clientWidth;
    const room = (this.width || 3 * (left + d.cell * t + 8 + GAP)) - 2 * GAP;
    const third = room / 3 - left - 8;
    const whole = room + 2 * GAP - left - 8;
    const side = Math.min(d.cell * t, third >= MIN_SIDE ? third : Math.max(whole, MIN_SIDE));
    const cell = side / t;
    const noteFont = d.legendFont;
    const noteLines = d.note ? d.note.split("; ") : []; // two short lines fit a narrow map
    const top = d.titleFont + 12 + noteLines.length * (noteFont + 4);
    const legendTop = top + side + 8 + labels.xDepth + 12;
    const height = legendTop + d.legendFont * 3 + 16;
    const width = left + Math.max(side, 160) + 8;
    this.geometry = { left, top, side };

    const names = [...d.panels.map((p) => p.name), d.difference.name];
    const valueTitles = [...d.panels.map((p) => p.valueTitle), d.difference.valueTitle];
    const palettes = ["weights", "weights", "diverging"];
    this.panels.forEach((one, k) => {
      one.name = names[k];
      one.valueTitle = valueTitles[k];
      one.stops = d.stops[palettes[k]].map(rgb);
      one.diverging = palettes[k] === "diverging";
      one.panel.dataset.name = names[k];
      one.svg.replaceChildren();
      one.svg.setAttribute("aria-label", names[k]);
      sizePlot(one, width, height, left, top, side);
      one.geometry = this.geometry;
      one.cursor.rename(names[k]);
      one.cursor.place(t, t, left, top, cell);

      const title = svg("text", { x: 0, y: d.titleFont, ...font, "font-size": d.titleFont, "font-weight": "bold", fill: ink, class: "title" }, one.svg);
      title.textContent = names[k];
      if (d.note) {
        // Not every token is named: say so under the title, as the charts do.
        const note = svg("text", { ...font, "font-size": noteFont, fill: ink, class: "note" }, one.svg);
        noteLines.forEach((line, n) => {
          const y = d.titleFont + 8 + (n + 1) * (noteFont + 4) - 4;
          svg("tspan", { x: 0, y }, note).textContent = n < noteLines.length - 1 ? `${line};` : line;
        });
      }
      drawTokenAxes(one.svg, d, labels, left, top, cell);
      one.values = valueTexts(one.svg, d, left, top, cell);
      // The legend under the map: the value's name, the colour ramp, its two ends and middle.
      const legend = svg("g", { class: "legend", ...font, "font-size": d.legendFont, fill: ink }, one.svg);
      svg("text", { x: left, y: legendTop, "font-weight": "bold" }, legend).textContent = valueTitles[k];
      const rampTop = legendTop + 6;
      const rampWidth = Math.min(side, 200);
      const defs = svg("defs", {}, one.svg);
      const gradient = svg("linearGradient", { id: `ramp-${k}`, x1: 0, y1: 0, x2: 1, y2: 0 }, defs);
      d.stops[palettes[k]].forEach((stop, n, all) => svg("stop", { offset: n / (all.length - 1), "stop-color": stop }, gradient));
      svg("rect", { x: left, y: rampTop, width: rampWidth, height: 10, fill: `url(#ramp-${k})` }, legend);
      one.ticks = [0, 0.5, 1].map((f) => {
        const anchor = f === 0 ? "start" : f === 1 ? "end" : "middle";
        const tick = svg("text", { x: left + rampWidth * f, y: rampTop + 12 + d.legendFont, "text-anchor": anchor, class: "tick" }, legend);
        tick.dataset.fraction = f;
        return tick;
      });
    });
  }

  // ---- drawing: every move ---------------------------------------------------------

  draw() {
    const d = this.data;
    const t = d.t;
    this.drawn = this.matrices();
    this.panels.forEach((one, k) => {
      const [values, low, high] = this.drawn[k];
      const span = high - low || 1;
      const position = (v) => (v - low) / span;
      paintCells(one.canvas, this.scratch, t, t, (n) => colourAt(one.stops, position(values[n])));
      if (one.values) {
        one.values.forEach((text, n) => {
          text.textContent = values[n].toFixed(2);
          text.setAttribute("fill", inkFor(colourAt(one.stops, position(values[n])), d.inks));
        });
      }
      for (const tick of one.ticks) tick.textContent = (low + span * tick.dataset.fraction).toFixed(2);
      const [i, j, value] = strongestCell(values, t, t, one.diverging);
      const [a, b] = [d.labels[i], i === j ? "itself" : `‘${d.labels[j]}’`];
      const what = one.diverging ? "largest change" : "strongest weight";
      const shown = one.diverging && value > 0 ? `+${value.toFixed(2)}` : value.toFixed(2);
      one.cursor.summarise(`${one.name}, ${t} tokens: the ${what} is ‘${a}’ to ${b}, ${shown}`);
      one.cursor.redraw();
    });
  }

  hover(one, event) {
    const t = this.data.t;
    const at = cellAt(one.canvas, t, event);
    if (!at || !this.drawn) {
      one.tip.hidden = true;
      return;
    }
    showTip(one.tip, one.canvas, this.geometry, event, this.describe(one, ...at).tip);
  }

  // A cell of one panel: its tooltip, and the sentence a screen reader says for it.
  describe(one, i, j) {
    const { t, labels } = this.data;
    const value = this.drawn[this.panels.indexOf(one)][0][i * t + j];
    return {
      tip: `query i = ${i}: ${labels[i]}\nkey j = ${j}: ${labels[j]}\n${one.valueTitle} = ${value.toFixed(4)}`,
      say: `${one.panel.dataset.name}: query ‘${labels[i]}’, key ‘${labels[j]}’: ${value.toFixed(2)}`,
    };
  }
}

