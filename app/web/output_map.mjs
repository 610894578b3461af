// Step 5's Y = W V and the length of each row, recomputed in the browser whenever the map
// of W moves (see app/weights_map.py).

import { colourAt, decode, largestOf, rgb, rowLengths, softmaxRows, tick } from "./numeric.mjs";
import {
  CellCursor, FONT, GAP, cellAt, drawRowNames, el, follow, framedPlot, paintCells,
  relayoutOnResize, showTip, sizePlot, svg, takeServerSettings, textWidth, tokenLabels,
} from "./drawing.mjs";

export default function (component) {
  return follow(component.parentElement, component.data, OutputMap);
}

const NICE_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000];
const MIN_CELLS = 120; // Y's narrowest plot, in pixels, before the frame scrolls

class OutputMap {
  constructor(root) {
    this.root = el("div", { class: "w-output" }, root);
    framedPlot(this);
    this.scratch = document.createElement("canvas");
    this.settings = null;
    this.served = null;
    this.pending = false;
    this.canvas.addEventListener("pointermove", (e) => this.hover(e));
    this.canvas.addEventListener("pointerleave", () => (this.tip.hidden = true));
    this.cursor = new CellCursor(this, { name: "Y = W V", describe: (i, k) => this.describe(i, k) });
    relayoutOnResize(this);
  }

  update(data) {
    takeServerSettings(this, data.settings);
    if (data.scores !== this.scoresText || data.values !== this.valuesText) {
      [this.scoresText, this.valuesText] = [data.scores, data.values];
      this.scores = decode(data.scores);
      this.values = decode(data.values);
      // A weighted mean is never longer than the longest vector it mixes: the bars' end.
      this.longest = largestOf(rowLengths(this.values, data.t, data.d), 1e-12);
    }
    this.data = data;
    this.layout();
    this.draw();
  }

  // W's pixels come first: Y is worked out once that frame is painted, once however many
  // moves came before it (a 256-token text mixes 256 x 256 x 384 numbers).
  moved(settings) {
    this.settings = { ...settings };
    if (!this.data || this.pending) return;
    this.pending = true;
    requestAnimationFrame(() =>
      setTimeout(() => {
        this.pending = false;
        this.draw();
      }, 0),
    );
  }

  // ---- the numbers: W under the settings now, Y = W V, and the length of each row ------

  mix() {
    const { t, d, width } = this.data;
    const { temperature, scale, causal } = this.settings;
    const factor = (scale ? 1 / Math.sqrt(width) : 1) / temperature;
    const { w } = softmaxRows(this.scores, t, factor, causal);
    const v = this.values;
    const y = new Float64Array(t * d);
    for (let i = 0; i < t; i++) {
      const row = i * d;
      for (let j = 0; j < t; j++) {
        const weight = w[i * t + j];
        if (weight === 0) continue; // masked, or too small to count
        const from = j * d;
        for (let k = 0; k < d; k++) y[row + k] += weight * v[from + k];
      }
    }
    return { w, y, lengths: rowLengths(y, t, d) };
  }

  // ---- layout: once per data and width ---------------------------------------------

  layout() {
    const d = this.data;
    const ink = d.labelInk;
    const font = { "font-family": FONT, fill: ink };
    const names = tokenLabels(d);
    this.width = this.root.clientWidth;
    const room = this.width || 900;
    const left = names.yWidth + 10;
    const top = d.titleFont + 12;
    const tickWidth = largestOf(d.domain, 0, (v) => textWidth(tick(v), d.font));
    const legendWidth = Math.max(14 + 6 + tickWidth, textWidth(d.valueTitle, d.titleFont)) + 4;
    const numberWidth = textWidth("0.00", d.font) + 6;
    const normsWidth = Math.min(Math.max(room * 0.17, 90 + numberWidth), 220);
    const cellsWidth = Math.max(room - left - GAP - legendWidth - GAP - normsWidth - 4, MIN_CELLS);
    const cellsHeight = d.height;
    const rowHeight = cellsHeight / d.t;
    const legendLeft = left + cellsWidth + GAP;
    const normsLeft = legendLeft + legendWidth + GAP;
    const axisTop = top + cellsHeight + 4;
    const height = axisTop + 4 + d.font + 8 + d.titleFont + 8;
    const width = normsLeft + normsWidth + 4;
    this.geometry = { left, top, cellsWidth, rowHeight };
    this.stops = d.stops.map(rgb);
    sizePlot(this, width, height, left, top, cellsWidth, cellsHeight);
    this.cursor.place(d.t, d.d, left, top, cellsWidth / d.d, rowHeight);
    this.svg.replaceChildren();
    this.svg.setAttribute("aria-label", `Y = W ${d.mixed.toUpperCase()}, token by dimension, and the length of each row`);
    this.note.textContent = d.note;

    drawRowNames(this.svg, d, names, left, top, rowHeight);
    // Dimensions along the bottom: a tick every few, as many as fit apart.
    const axis = svg("g", { class: "axis dims", ...font, "font-size": d.font }, this.svg);
    const apart = textWidth(String(d.d), d.font) + 14;
    const step = NICE_STEPS.find((s) => (s * cellsWidth) / d.d >= apart) ?? d.d;
    for (let k = 0; k < d.d; k += step) {
      const x = left + ((k + 0.5) * cellsWidth) / d.d;
      svg("line", { x1: x, x2: x, y1: axisTop - 4, y2: axisTop, stroke: ink }, axis);
      svg("text", { x, y: axisTop + d.font * 0.9, "text-anchor": "middle" }, axis).textContent = k;
    }
    const titles = svg("g", { class: "titles", ...font, "font-size": d.titleFont, "font-weight": "bold" }, this.svg);
    const xTitle = svg("text", { x: left + cellsWidth / 2, y: height - 8, "text-anchor": "middle" }, titles);
    xTitle.textContent = d.xTitle;

    // The legend: Y's colour range, that of the vectors mixed (top to bottom: high to low).
    const legend = svg("g", { class: "legend", ...font, "font-size": d.font }, this.svg);
    svg("text", { x: legendLeft, y: top - 8, "font-weight": "bold", "font-size": d.titleFont }, legend).textContent = d.valueTitle;
    const rampHeight = Math.min(cellsHeight, 200);
    const defs = svg("defs", {}, this.svg);
    const gradient = svg("linearGradient", { id: "y-ramp", x1: 0, y1: 1, x2: 0, y2: 0 }, defs);
    d.stops.forEach((stop, k) => svg("stop", { offset: k / (d.stops.length - 1), "stop-color": stop }, gradient));
    svg("rect", { x: legendLeft, y: top, width: 14, height: rampHeight, fill: "url(#y-ramp)" }, legend);
    const [low, high] = d.domain;
    [high, (low + high) / 2, low].forEach((value, n) => {
      const y = top + (rampHeight * n) / 2;
      svg("text", { x: legendLeft + 20, y, "dominant-baseline": "central" }, legend).textContent = tick(value);
    });

    // Each row's length, beside its row: a bar up to the longest vector mixed, and its number.
    const norms = svg("g", { class: "stats norms", ...font, "font-size": d.font }, this.svg);
    svg("text", { x: normsLeft, y: top - 8, "font-weight": "bold", "font-size": d.titleFont }, norms).textContent = d.normTitle;
    const barRoom = normsWidth - numberWidth;
    const printed = rowHeight >= 11;
    const barHeight = Math.max(rowHeight * 0.8, 1);
    this.norms = { bars: [], texts: [], left: normsLeft, room: barRoom };
    for (let i = 0; i < d.t; i++) {
      const y = top + i * rowHeight;
      svg("rect", { x: normsLeft, y: y + rowHeight * 0.1, width: barRoom, height: barHeight, class: "track" }, norms);
      this.norms.bars.push(svg("rect", { x: normsLeft, y: y + rowHeight * 0.1, height: barHeight, class: "bar" }, norms));
      if (printed) {
        const size = Math.min(d.font, Math.max(rowHeight - 2, 9));
        this.norms.texts.push(svg("text", { y: y + rowHeight / 2, "font-size": size, "dominant-baseline": "central", class: "stat" }, norms));
      }
    }
    const scale = svg("g", { class: "axis norms", ...font, "font-size": d.font }, this.svg);
    svg("text", { x: normsLeft, y: axisTop + d.font * 0.9 }, scale).textContent = "0";
    svg("text", { x: normsLeft + barRoom, y: axisTop + d.font * 0.9, "text-anchor": "end" }, scale).textContent = this.longest.toFixed(2);
    const normsTitle = svg("text", { x: normsLeft + barRoom / 2, y: height - 8, "text-anchor": "middle", "font-size": d.font }, scale);
    normsTitle.textContent = `longest ${d.mixed}ⱼ`;
  }

  // ---- drawing: every move ---------------------------------------------------------

  draw() {
    const d = this.data;
    this.drawn = this.mix();
    const { y, lengths } = this.drawn;
    const [low, high] = d.domain;
    const span = high - low || 1;
    paintCells(this.canvas, this.scratch, d.t, d.d, (k) => colourAt(this.stops, (y[k] - low) / span));
    const { bars, texts, left, room } = this.norms;
    for (let i = 0; i < d.t; i++) {
      const width = room * Math.min(lengths[i] / this.longest, 1);
      bars[i].setAttribute("width", width);
      if (texts.length) {
        texts[i].setAttribute("x", left + width + 3);
        texts[i].textContent = lengths[i].toFixed(2);
      }
    }
    const order = Array.from(lengths.keys()).sort((a, b) => lengths[b] - lengths[a]);
    const [top, bottom] = [order[0], order[order.length - 1]];
    this.cursor.summarise(
      `Y, ${d.t} tokens by ${d.d} dimensions: the longest row is ‘${d.labels[top]}’, ${lengths[top].toFixed(2)}, ` +
        `the shortest ‘${d.labels[bottom]}’, ${lengths[bottom].toFixed(2)}; the longest ${d.mixed}ⱼ is ${this.longest.toFixed(2)}`,
    );
    this.cursor.redraw();
  }

  hover(event) {
    const { t, d } = this.data;
    const at = cellAt(this.canvas, t, event, d);
    if (!at || !this.drawn) {
      this.tip.hidden = true;
      return;
    }
    showTip(this.tip, this.canvas, this.geometry, event, this.describe(...at).tip);
  }

  // A cell's tooltip, and the sentence a screen reader says for it.
  describe(i, k) {
    const { d, labels, valueTitle } = this.data;
    const value = this.drawn.y[i * d + k];
    const length = this.drawn.lengths[i];
    return {
      tip:
        `token i = ${i}: ${labels[i]}\ndimension ${k}\n${valueTitle} = ${value.toFixed(4)}\n` +
        `‖y_${i}‖ = ${length.toFixed(4)}`,
      say: `token ‘${labels[i]}’, dimension ${k}: ${value.toFixed(2)}; the row's length ${length.toFixed(2)}`,
    };
  }
}

