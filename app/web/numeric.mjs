// The numbers the page's maps compute, with no drawing: pure functions of their inputs,
// held to attn_core by tests/test_web.py (which runs them under Node).

// The largest of values (any array or typed array), at least floor. A loop, not
// Math.max(...values): a spread passes every number as an argument, and a 256-token text's
// two maps are 131 072 of them, past the engines' argument limits (V8 ~125 000, Safari 65 536).
export function largestOf(values, floor = -Infinity, f = (v) => v) {
  let top = floor;
  for (let k = 0; k < values.length; k++) {
    const v = f(values[k]);
    if (v > top) top = v;
  }
  return top;
}

export function rgb(hex) {
  return [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
}

// The little-endian float32 numbers in a base64 string (all the server sends): the browser's
// own decoder where it has one, else a plain loop. A 256-token text's scores (decoded by W,
// Y and both panels of the comparison) took 45-110 ms in Chromium on two busy cores as
// Uint8Array.from(text, f), which calls f per byte; 2 ms as this loop, 0.3 ms natively.
// Everything computed from them (W, Y, the rows' sums) is float64.
export function decode(base64) {
  let bytes;
  if (typeof Uint8Array.fromBase64 === "function") {
    bytes = Uint8Array.fromBase64(base64);
  } else {
    const text = atob(base64);
    bytes = new Uint8Array(text.length);
    for (let k = 0; k < text.length; k++) bytes[k] = text.charCodeAt(k);
  }
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

// Each row of scores (t x t) times factor, masked j > i when causal, through a softmax:
// the weights and each row's sum, largest weight and entropy in bits.
export function softmaxRows(scores, t, factor, causal) {
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
export function colourAt(stops, position) {
  const x = Math.min(Math.max(position, 0), 1) * (stops.length - 1);
  const k = Math.min(Math.floor(x), stops.length - 2);
  const f = x - k;
  return stops[k].map((a, c) => Math.round(a + (stops[k + 1][c] - a) * f));
}


// The ink (inks: [light, dark]) that reads best on an [r, g, b] colour: the one with the
// larger WCAG contrast ratio, as attn_core.charts.base.ink_for picks it.
export function inkFor(colour, inks) {
  const [r, g, b] = colour.map((c) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 ? inks[0] : inks[1];
}

// The length of each of the rows of a rows x cols matrix.
export function rowLengths(matrix, rows, cols) {
  const lengths = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let sum = 0;
    for (let k = i * cols; k < (i + 1) * cols; k++) sum += matrix[k] * matrix[k];
    lengths[i] = Math.sqrt(sum);
  }
  return lengths;
}

// A colour range's end as the legend prints it: two significant digits.
export function tick(value) {
  return String(+value.toPrecision(2)).replace("-", "−");
}

// The cell with the largest value (by magnitude when absolute) of a rows x cols matrix,
// the first one on a tie: [i, j, value].
export function strongestCell(values, rows, cols, absolute = false) {
  let best = 0;
  for (let k = 1; k < rows * cols; k++) {
    const a = absolute ? Math.abs(values[k]) : values[k];
    const b = absolute ? Math.abs(values[best]) : values[best];
    if (a > b) best = k;
  }
  return [Math.floor(best / cols), best % cols, values[best]];
}

// The mean of values (any array or typed array).
export function meanOf(values) {
  let sum = 0;
  for (let k = 0; k < values.length; k++) sum += values[k];
  return values.length ? sum / values.length : 0;
}
