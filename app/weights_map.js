// W, normalised, drawn and recomputed in the browser (see weights_map.py).
//
// The server sends the raw scores w'_ij once. Every move of the temperature, the 1/√d
// scale, the causal mask or the colour stretch recomputes W here,
//     w_ij = softmax_j(w'_ij * scale / τ, masked j > i),
// and repaints it within the frame: the cells on a canvas, the printed values, each row's
// largest weight and entropy. Once a value settles it is reported to the server, which
// redraws what depends on W. Token labels are set as text, never parsed as HTML.
//
// Three components share this file: step 4's map (WeightsMap), which has the controls;
// step 5's output (OutputMap: Y = W V and the length of each row) and step 8's comparison
// (ComparisonMaps: the parameter-free W, the projections' W and their difference), which
// follow the map's settings through a window event.

const SVG = "http://www.w3.org/2000/svg";
const FONT = "sans-serif";
const SETTLE_MS = 120; // keys held down: at most one report this often, the last one kept
const GAP = 16; // between the map, its row statistics and the legend (and the three maps)
const MIN_SIDE = 150; // the comparison's smallest map, in pixels, before they wrap
const STATS = [
  ["row sum", 64],
  ["largest", 84],
  ["entropy (bits)", 96],
];

const SETTINGS_EVENT = "attention:w-settings"; // the map's settings, on every move

export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  if (data.kind) return follow(parentElement, data);
  let map = parentElement.__weightsMap;
  if (!map) {
    map = new WeightsMap(parentElement);
    parentElement.__weightsMap = map;
  }
  map.report = { setStateValue, setTriggerValue };
  map.update(data);
}

function el(tag, attrs = {}, parent = null, ns = null) {
  const node = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function svg(tag, attrs, parent) {
  return el(tag, attrs, parent, SVG);
}

// The largest of values (any array or typed array), at least floor. A loop, not
// Math.max(...values): a spread passes every number as an argument, and a 256-token text's
// two maps are 131 072 of them, past the engines' argument limits (V8 ~125 000, Safari 65 536).
function largestOf(values, floor = -Infinity, f = (v) => v) {
  let top = floor;
  for (let k = 0; k < values.length; k++) {
    const v = f(values[k]);
    if (v > top) top = v;
  }
  return top;
}

function rgb(hex) {
  return [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
}

function decode(base64, Type = Float64Array) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return new Type(bytes.buffer);
}

// Each row of scores (t x t) times factor, masked j > i when causal, through a softmax:
// the weights and each row's sum, largest weight and entropy in bits.
function softmaxRows(scores, t, factor, causal) {
  const w = new Float64Array(t * t);
  const rows = { largest: new Float64Array(t), entropy: new Float64Array(t), sum: new Float64Array(t) };
  for (let i = 0; i < t; i++) {
    const end = causal ? i + 1 : t;
    let top = -Infinity;
    for (let j = 0; j < end; j++) top = Math.max(top, scores[i * t + j] * factor);
    let sum = 0;
    for (let j = 0; j < end; j++) {
      const e = Math.exp(scores[i * t + j] * factor - top);
      w[i * t + j] = e;
      sum += e;
    }
    let largest = 0;
    let entropy = 0;
    let total = 0;
    for (let j = 0; j < end; j++) {
      const p = (w[i * t + j] /= sum);
      largest = Math.max(largest, p);
      total += p;
      if (p > 0) entropy -= p * Math.log2(p);
    }
    rows.largest[i] = largest;
    rows.entropy[i] = entropy;
    rows.sum[i] = total;
  }
  return { w, rows };
}

// The colour at position (0-1) along stops ([[r, g, b], ...]), interpolated in RGB as
// Vega-Lite's scales and attn_core's images do.
function colourAt(stops, position) {
  const x = Math.min(Math.max(position, 0), 1) * (stops.length - 1);
  const k = Math.min(Math.floor(x), stops.length - 2);
  const f = x - k;
  return stops[k].map((a, c) => Math.round(a + (stops[k + 1][c] - a) * f));
}

// One pixel a cell on a rows x cols scratch canvas, stretched unsmoothed onto canvas.
function paintCells(canvas, scratch, rows, cols, colourOf) {
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

const MEASURE = document.createElement("canvas");

function textWidth(text, size) {
  const ctx = MEASURE.getContext("2d");
  ctx.font = `${size}px ${FONT}`;
  return ctx.measureText(text).width;
}

// A label longer than limit pixels ends in "…" (its cell's tooltip names it whole).
function fitText(text, size, limit) {
  if (textWidth(text, size) <= limit) return text;
  let cut = text;
  while (cut.length > 1 && textWidth(cut + "…", size) > limit) cut = cut.slice(0, -1);
  return cut + "…";
}

// ---- what both kinds of map share: token names on the axes, sizes, printed values ----

// Which tokens each axis names (every k-th, as the server chose), fitted to the label
// limit, and the room they take: the widest row name and the depth of the column names.
function tokenLabels(d) {
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
function framedPlot(map) {
  map.note = el("div", { class: "note" }, map.root);
  map.frame = el("div", { class: "frame" }, map.root);
  map.plot = el("div", { class: "plot" }, map.frame);
  map.svg = svg("svg", { role: "img" }, map.plot);
  map.canvas = el("canvas", { "aria-hidden": "true" }, map.plot);
  map.tip = el("div", { class: "tip", hidden: "" }, map.plot);
}

// A plot width x height: its SVG (the text) over its canvas (the cells, cellsWidth x
// cellsHeight pixels at left, top), the canvas at the screen's own pixel density.
function sizePlot({ svg: node, plot, canvas }, width, height, left, top, cellsWidth, cellsHeight = cellsWidth) {
  Object.assign(node.style, { width: `${width}px`, height: `${height}px` });
  node.setAttribute("viewBox", `0 0 ${width} ${height}`);
  Object.assign(plot.style, { width: `${width}px`, height: `${height}px` });
  Object.assign(canvas.style, { left: `${left}px`, top: `${top}px`, width: `${cellsWidth}px`, height: `${cellsHeight}px` });
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(cellsWidth * ratio);
  canvas.height = Math.round(cellsHeight * ratio);
}

// The token names beside the rows and under the columns of a map of cell-pixel cells.
function drawTokenAxes(node, d, names, left, top, cell) {
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
function drawRowNames(node, d, names, left, top, rowHeight) {
  const yAxis = svg("g", { class: "axis y", "font-family": FONT, fill: d.labelInk, "font-size": d.y.font }, node);
  names.yShown.forEach((i, n) => {
    const label = svg("text", { x: left - 6, y: top + (i + 0.5) * rowHeight, "text-anchor": "end", "dominant-baseline": "central" }, yAxis);
    label.textContent = names.yTexts[n];
  });
}

// One text a cell for its printed value, when the cells are few (else null).
function valueTexts(node, d, left, top, cell) {
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
function cellAt(canvas, rows, event, cols = rows) {
  const box = canvas.getBoundingClientRect();
  const j = Math.floor(((event.clientX - box.left) / box.width) * cols);
  const i = Math.floor(((event.clientY - box.top) / box.height) * rows);
  return i >= 0 && i < rows && j >= 0 && j < cols ? [i, j] : null;
}

// A cell's tooltip, beside the pointer (the plot's canvas sits at left, top).
function showTip(tip, canvas, { left, top }, event, text) {
  const box = canvas.getBoundingClientRect();
  tip.textContent = text;
  tip.style.left = `${left + event.clientX - box.left + 14}px`;
  tip.style.top = `${top + event.clientY - box.top + 14}px`;
  tip.hidden = false;
}

// White ink on dark cells (the top of the range, or either end of a diverging one).
function inkAt(position, diverging, inks) {
  return position > 0.8 || (diverging && position < 0.2) ? inks[0] : inks[1];
}

// A map's settings from the server: taken only when they differ from what it last sent
// (a link, a new mode), so the page's own moves are not undone by a redraw.
function takeServerSettings(map, settings) {
  if (JSON.stringify(settings) === JSON.stringify(map.served)) return;
  map.served = { ...settings };
  map.settings = { ...settings };
}

// map.draw() at the next frame, once however many moves come before it.
function drawNextFrame(map) {
  if (map.frameRequested) return;
  map.frameRequested = true;
  requestAnimationFrame(() => {
    map.frameRequested = false;
    map.draw();
  });
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
    framedPlot(this);
    this.offscreen = document.createElement("canvas");

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
    for (const [key, box] of Object.entries(this.switches)) box.checked = !!this.settings[key];
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
        text.setAttribute("fill", inkAt(w[k] / top, false, d.inks));
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
  }

  // ---- pointer ----------------------------------------------------------------------

  hover(event) {
    const t = this.data.t;
    const at = cellAt(this.canvas, t, event);
    if (!at || !this.drawn) {
      this.tip.hidden = true;
      return;
    }
    const [i, j] = at;
    const labels = this.data.labels;
    showTip(
      this.tip,
      this.canvas,
      this.geometry,
      event,
      `query i = ${i}: ${labels[i]}\nkey j = ${j}: ${labels[j]}\n` +
        `w_ij = ${this.drawn.w[i * t + j].toFixed(4)}\nw′_ij = ${this.scores[i * t + j].toFixed(4)}\n` +
        `row ${i} sums to ${this.drawn.rows.sum[i].toFixed(3)}`,
    );
  }

  pick(event) {
    const at = cellAt(this.canvas, this.data.t, event);
    if (!at) return;
    this.report.setTriggerValue("pick", { row: at[0], col: at[1] });
  }
}

// ---- what follows the map: step 5's Y and step 8's comparison ---------------------------

function follow(root, data) {
  let maps = root.__follower;
  if (!maps) {
    maps = data.kind === "output" ? new OutputMap(root) : new ComparisonMaps(root);
    root.__follower = maps;
  }
  maps.update(data);
  // The map's moves arrive as a window event; one listener at a time, gone on unmount.
  if (maps.follow) window.removeEventListener(SETTINGS_EVENT, maps.follow);
  maps.follow = (event) => maps.moved(event.detail);
  window.addEventListener(SETTINGS_EVENT, maps.follow);
  return () => window.removeEventListener(SETTINGS_EVENT, maps.follow);
}

// A new width (a phone turned, the sidebar closed) lays maps out again.
function relayoutOnResize(maps) {
  maps.width = 0;
  new ResizeObserver(() => {
    if (maps.data && maps.root.clientWidth !== maps.width) {
      maps.layout();
      maps.draw();
    }
  }).observe(maps.root);
}

// ---- step 5: Y = W V, and the length of each row ----------------------------------------

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
    relayoutOnResize(this);
  }

  update(data) {
    takeServerSettings(this, data.settings);
    if (data.scores !== this.scoresText || data.values !== this.valuesText) {
      [this.scoresText, this.valuesText] = [data.scores, data.values];
      this.scores = decode(data.scores);
      this.values = decode(data.values, Float32Array);
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
  }

  hover(event) {
    const { t, d, labels, valueTitle } = this.data;
    const at = cellAt(this.canvas, t, event, d);
    if (!at || !this.drawn) {
      this.tip.hidden = true;
      return;
    }
    const [i, k] = at;
    showTip(
      this.tip,
      this.canvas,
      this.geometry,
      event,
      `token i = ${i}: ${labels[i]}\ndimension ${k}\n${valueTitle} = ${this.drawn.y[i * d + k].toFixed(4)}\n` +
        `‖y_${i}‖ = ${this.drawn.lengths[i].toFixed(4)}`,
    );
  }
}

// The length of each of the rows of a rows x cols matrix.
function rowLengths(matrix, rows, cols) {
  const lengths = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let sum = 0;
    for (let k = i * cols; k < (i + 1) * cols; k++) sum += matrix[k] * matrix[k];
    lengths[i] = Math.sqrt(sum);
  }
  return lengths;
}

// A colour range's end as the legend prints it: two significant digits.
function tick(value) {
  return String(+value.toPrecision(2)).replace("-", "−");
}

// ---- step 8: the two W side by side, and their difference ------------------------------

class ComparisonMaps {
  constructor(root) {
    this.root = el("div", { class: "w-comparison" }, root);
    this.panels = [0, 1, 2].map(() => {
      const panel = el("div", { class: "panel" }, this.root);
      const plot = el("div", { class: "plot" }, panel);
      const node = svg("svg", { role: "img" }, plot);
      const canvas = el("canvas", { "aria-hidden": "true" }, plot);
      const tip = el("div", { class: "tip", hidden: "" }, plot);
      const one = { panel, plot, svg: node, canvas, tip };
      canvas.addEventListener("pointermove", (e) => this.hover(one, e));
      canvas.addEventListener("pointerleave", () => (tip.hidden = true));
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
          text.setAttribute("fill", inkAt(position(values[n]), one.diverging, d.inks));
        });
      }
      for (const tick of one.ticks) tick.textContent = (low + span * tick.dataset.fraction).toFixed(2);
    });
  }

  hover(one, event) {
    const t = this.data.t;
    const at = cellAt(one.canvas, t, event);
    if (!at || !this.drawn) {
      one.tip.hidden = true;
      return;
    }
    const [i, j] = at;
    const labels = this.data.labels;
    const values = this.drawn[this.panels.indexOf(one)][0];
    showTip(
      one.tip,
      one.canvas,
      this.geometry,
      event,
      `query i = ${i}: ${labels[i]}\nkey j = ${j}: ${labels[j]}\n` +
        `${one.valueTitle} = ${values[i * t + j].toFixed(4)}`,
    );
  }
}
