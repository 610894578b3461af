// Step 4's map: W, normalised, drawn and recomputed in the browser (see app/weights_map.py).
//
// The server sends the raw scores w'_ij once. Every move of the temperature, the 1/√d
// scale, the causal mask or the colour stretch recomputes W here,
//     w_ij = softmax_j(w'_ij * scale / τ, masked j > i),
// and repaints it within the frame: the cells on a canvas, the printed values, each row's
// largest weight and entropy. Once a value settles it is reported to the server, which
// redraws what depends on W; every move is announced to the maps that follow W (step 5's
// Y, step 8's comparison) through a window event.

import {
  colourAt, decode, inkFor, largestOf, meanOf, rgb, softmaxRows, strongestCell,
} from "./numeric.mjs";
import {
  CellCursor, FONT, GAP, SETTINGS_EVENT, cellAt, drawNextFrame, drawTokenAxes, el, framedPlot, paintCells,
  showTip, sizePlot, svg, takeServerSettings, textWidth, tokenLabels, valueTexts,
} from "./drawing.mjs";

const SETTLE_MS = 120; // keys held down: at most one report this often, the last one kept
const STATS = [
  ["row sum", 64],
  ["largest", 84],
  ["entropy (bits)", 96],
];

export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  let map = parentElement.__weightsMap;
  if (!map) {
    map = new WeightsMap(parentElement);
    parentElement.__weightsMap = map;
  }
  map.report = { setStateValue, setTriggerValue };
  map.update(data);
}

class WeightsMap {
  constructor(root) {
    this.root = el("div", { class: "weights-map" }, root);
    this.controls = el("div", { class: "controls" }, this.root);
    const tau = el("div", { class: "tau" }, this.controls);
    el("label", { for: "tau" }, tau).textContent = "Temperature τ";
    this.tau = el("input", { id: "tau", type: "range" }, tau);
    this.tauValue = el("output", { for: "tau" }, tau);
    this.switches = {};
    for (const [key, text, title] of [
      ["scale", "Scale by 1/√d", ""],
      [
        "stretch",
        "Stretch colours to the largest weight",
        "Off: white is 0 and dark blue is 1. On: dark blue is the largest weight, " +
          "which shows the pattern of long texts, where every weight is small.",
      ],
      ["causal", "Causal mask (see only earlier tokens)", ""],
    ]) {
      const label = el("label", { class: "switch", title }, this.controls);
      this.switches[key] = el("input", { type: "checkbox", role: "switch" }, label);
      el("span", {}, label).textContent = text;
    }
    this.why = el("p", { class: "fixed-why" }, this.controls); // why a switch is held still
    framedPlot(this);
    this.offscreen = document.createElement("canvas");
    this.cursor = new CellCursor(this, {
      name: "W, normalised",
      describe: (i, j) => this.describe(i, j),
      pick: (i, j) => this.report.setTriggerValue("pick", { row: i, col: j }),
    });

    this.settings = null; // what this page shows now
    this.served = null; // the settings the server last sent: a change there is the server's
    this.timer = null;
    this.reported = -Infinity; // when the last value went to the server
    this.frameRequested = false;

    this.tau.addEventListener("input", () => this.changed({ temperature: +this.tau.value }, false));
    this.tau.addEventListener("change", () => this.changed({ temperature: +this.tau.value }, true));
    for (const [key, box] of Object.entries(this.switches)) {
      box.addEventListener("change", () => this.changed({ [key]: box.checked }, true));
    }
    this.canvas.addEventListener("pointermove", (e) => this.hover(e));
    this.canvas.addEventListener("pointerleave", () => (this.tip.hidden = true));
    this.canvas.addEventListener("click", (e) => this.pick(e));
  }

  // ---- data from the server ----------------------------------------------------------

  update(data) {
    takeServerSettings(this, data.settings);
    if (data.scores !== this.scoresText) {
      this.scoresText = data.scores;
      this.scores = decode(data.scores);
    }
    this.data = data;
    const { min, max, step } = data.range;
    Object.assign(this.tau, { min, max, step });
    this.layout();
    this.showSettings();
    this.draw();
  }

  showSettings() {
    this.tau.value = this.settings.temperature;
    this.tauValue.textContent = (+this.tau.value).toFixed(2);
    const fixed = this.data.fixed || {};
    for (const [key, box] of Object.entries(this.switches)) {
      box.checked = !!this.settings[key];
      box.disabled = key in fixed;
    }
    this.why.textContent = Object.values(fixed).join(" ");
    this.why.hidden = !this.why.textContent;
  }

  // ---- the controls ------------------------------------------------------------------

  changed(values, settled) {
    Object.assign(this.settings, values);
    window.dispatchEvent(new CustomEvent(SETTINGS_EVENT, { detail: { ...this.settings } }));
    this.tauValue.textContent = this.settings.temperature.toFixed(2);
    drawNextFrame(this);
    if (settled) {
      // A single step (a key, a click, the end of a drag) goes to the server at once; a
      // key held down sends at most one value per SETTLE_MS, and always its last one.
      clearTimeout(this.timer);
      const wait = this.reported + SETTLE_MS - performance.now();
      if (wait > 0) this.timer = setTimeout(() => this.send(), wait);
      else this.send();
    }
  }

  send() {
    this.reported = performance.now();
    this.report.setStateValue("settings", { ...this.settings });
  }

  // ---- the numbers -------------------------------------------------------------------

  weights() {
    const { temperature, scale, causal } = this.settings;
    const factor = (scale ? 1 / Math.sqrt(this.data.width) : 1) / temperature;
    return softmaxRows(this.scores, this.data.t, factor, causal);
  }

  // ---- layout: once per data -------------------------------------------------------

  layout() {
    const d = this.data;
    const t = d.t;
    const cell = d.cell;
    const side = cell * t;
    this.stops = d.stops.map(rgb);
    this.svg.replaceChildren();
    this.svg.setAttribute("aria-label", "W, normalised");
    const fontFamily = { "font-family": FONT };
    const ink = d.labelInk;

    const names = tokenLabels(d);
    const titleGap = d.titleFont + 10;
    const left = titleGap + names.yWidth + 8;
    const top = d.statsFont + 14;
    const height = top + side + 8 + names.xDepth + 10 + d.titleFont + 6;
    const statsLeft = left + side + GAP;
    // Each row's sum is printed only where a row is tall enough (else it is in the tooltip).
    // Columns grow with their type, and are at least as wide as their heading.
    const columns = STATS.filter(([name]) => d.statsText || name !== "row sum").map(([name, w]) => [
      name,
      Math.max((w * d.statsFont) / 12, textWidth(name, d.statsFont) + 10),
    ]);
    const statsWidth = columns.reduce((a, [, w]) => a + w + 8, 0);
    const legendLeft = statsLeft + statsWidth + GAP;
    const width = legendLeft + Math.max(20 + textWidth("0.00", d.statsFont), textWidth(d.valueTitle, d.statsFont)) + 8;
    this.geometry = { left, top, side, cell, statsLeft, legendLeft };
    sizePlot(this, width, height, left, top, side);
    this.cursor.place(t, t, left, top, cell);
    this.note.textContent = d.note;

    // Axis labels: rows on the left, columns under the map.
    drawTokenAxes(this.svg, d, names, left, top, cell);
    const titles = svg("g", { class: "titles", ...fontFamily, "font-size": d.titleFont, "font-weight": "bold", fill: ink }, this.svg);
    const xTitle = svg("text", { x: left + side / 2, y: height - 6, "text-anchor": "middle" }, titles);
    xTitle.textContent = d.xTitle;
    const yTitle = svg("text", { transform: `translate(${d.titleFont},${top + side / 2}) rotate(-90)`, "text-anchor": "middle" }, titles);
    yTitle.textContent = d.yTitle;

    // The printed values, when the cells are few.
    this.values = valueTexts(this.svg, d, left, top, cell);

    // Each row's sum, largest weight and entropy, beside its row.
    const stats = svg("g", { class: "stats", ...fontFamily, "font-size": d.statsFont }, this.svg);
    this.statsCells = [];
    let x = statsLeft;
    for (const [name, w] of columns) {
      const head = svg("text", { x, y: top - 8, fill: ink, "font-weight": "bold" }, stats);
      head.textContent = name;
      const column = { x, w, bars: [], texts: [] };
      for (let i = 0; i < t; i++) {
        const y = top + i * cell;
        if (name !== "row sum") {
          svg("rect", { x, y: y + cell * 0.1, width: w, height: Math.max(cell * 0.8, 1), class: "track" }, stats);
          column.bars.push(svg("rect", { x, y: y + cell * 0.1, height: Math.max(cell * 0.8, 1), class: "bar" }, stats));
        }
        if (d.statsText) {
          const text = svg("text", { x: x + 3, y: y + cell / 2, "dominant-baseline": "central", class: "stat" }, stats);
          column.texts.push(text);
        }
      }
      this.statsCells.push(column);
      x += w + 8;
    }

    // The legend: the colour range, 0 to 1 (or to the largest weight).
    const legend = svg("g", { class: "legend", ...fontFamily, "font-size": d.statsFont, fill: ink }, this.svg);
    const title = svg("text", { x: legendLeft, y: top - 8, "font-weight": "bold" }, legend);
    title.textContent = d.valueTitle;
    const barTop = top + d.statsFont * 0.6; // clear of the title, for the top tick
    const barHeight = Math.min(side, 200) - d.statsFont * 0.6;
    const defs = svg("defs", {}, this.svg);
    const gradient = svg("linearGradient", { id: "ramp", x1: 0, y1: 1, x2: 0, y2: 0 }, defs);
    d.stops.forEach((stop, k) => svg("stop", { offset: k / (d.stops.length - 1), "stop-color": stop }, gradient));
    svg("rect", { x: legendLeft, y: barTop, width: 14, height: barHeight, fill: "url(#ramp)" }, legend);
    this.ticks = [0, 0.5, 1].map((f) => {
      const tick = svg("text", { x: legendLeft + 20, y: barTop + barHeight * (1 - f), "dominant-baseline": "central" }, legend);
      tick.dataset.fraction = f;
      return tick;
    });
  }

  // ---- drawing: every move ---------------------------------------------------------

  draw() {
    const d = this.data;
    const t = d.t;
    const { w, rows } = this.weights();
    const top = this.settings.stretch ? largestOf(rows.largest, 1e-12) : 1;
    this.drawn = { w, rows, top };

    paintCells(this.canvas, this.offscreen, t, t, (k) => colourAt(this.stops, w[k] / top));

    if (this.values) {
      this.values.forEach((text, k) => {
        text.textContent = w[k].toFixed(2);
        text.setAttribute("fill", inkFor(colourAt(this.stops, w[k] / top), d.inks));
      });
    }
    const [largest, entropy] = this.statsCells.slice(-2);
    const sums = this.statsCells[0]; // the row sums' column, when there is one
    const most = Math.max(Math.log2(t), 1e-9);
    for (let i = 0; i < t; i++) {
      largest.bars[i].setAttribute("width", largest.w * rows.largest[i]);
      entropy.bars[i].setAttribute("width", entropy.w * (rows.entropy[i] / most));
      if (d.statsText) {
        sums.texts[i].textContent = rows.sum[i].toFixed(3);
        largest.texts[i].textContent = rows.largest[i].toFixed(2);
        entropy.texts[i].textContent = rows.entropy[i].toFixed(2);
      }
    }
    for (const tick of this.ticks) tick.textContent = (top * tick.dataset.fraction).toFixed(2);
    const [i, j, strongest] = strongestCell(w, t, t);
    const names = d.labels;
    this.cursor.summarise(
      `W, ${t} tokens: the strongest weight is ‘${names[i]}’ to ${i === j ? "itself" : `‘${names[j]}’`}, ` +
        `${strongest.toFixed(2)}; mean entropy ${meanOf(rows.entropy).toFixed(1)} bits of at most ${most.toFixed(1)}`,
    );
    this.cursor.redraw();
  }

  // ---- pointer ----------------------------------------------------------------------

  hover(event) {
    const t = this.data.t;
    const at = cellAt(this.canvas, t, event);
    if (!at || !this.drawn) {
      this.tip.hidden = true;
      return;
    }
    showTip(this.tip, this.canvas, this.geometry, event, this.describe(...at).tip);
  }

  // A cell's tooltip, and the sentence a screen reader says for it.
  describe(i, j) {
    const t = this.data.t;
    const labels = this.data.labels;
    const w = this.drawn.w[i * t + j];
    return {
      tip:
        `query i = ${i}: ${labels[i]}\nkey j = ${j}: ${labels[j]}\n` +
        `w_ij = ${w.toFixed(4)}\nw′_ij = ${this.scores[i * t + j].toFixed(4)}\n` +
        `row ${i} sums to ${this.drawn.rows.sum[i].toFixed(3)}`,
      say: `query ‘${labels[i]}’ attends to key ‘${labels[j]}’ with weight ${w.toFixed(2)}`,
    };
  }

  pick(event) {
    const at = cellAt(this.canvas, this.data.t, event);
    if (!at) return;
    this.cursor.moveTo(...at);
    this.report.setTriggerValue("pick", { row: at[0], col: at[1] });
  }
}
