/**
 * A small PNG chart writer with no dependency: an RGB canvas, a built-in 5×7 bitmap font (digits,
 * upper-case letters — lower case is drawn upper case — and a few symbols), grouped bar charts in
 * panels, and a PNG encoder on node:zlib (IHDR, IDAT, IEND, CRC-32).
 */
import { deflateSync } from "node:zlib";

export type Rgb = readonly [number, number, number];

/** 5×7 glyphs, one row per number, bit 4 = leftmost pixel. */
const GLYPHS: Record<string, readonly number[]> = {
  "0": [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e],
  "1": [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e],
  "2": [0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f],
  "3": [0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e],
  "4": [0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02],
  "5": [0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e],
  "6": [0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e],
  "7": [0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
  "8": [0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e],
  "9": [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c],
  A: [0x0e, 0x11, 0x11, 0x11, 0x1f, 0x11, 0x11],
  B: [0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e],
  C: [0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e],
  D: [0x1c, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1c],
  E: [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f],
  F: [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10],
  G: [0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f],
  H: [0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11],
  I: [0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e],
  J: [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c],
  K: [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
  L: [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f],
  M: [0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11],
  N: [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
  O: [0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e],
  P: [0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10],
  Q: [0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d],
  R: [0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11],
  S: [0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e],
  T: [0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
  U: [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e],
  V: [0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04],
  W: [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a],
  X: [0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11],
  Y: [0x11, 0x11, 0x11, 0x0a, 0x04, 0x04, 0x04],
  Z: [0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f],
  " ": [0, 0, 0, 0, 0, 0, 0],
  ".": [0, 0, 0, 0, 0, 0x0c, 0x0c],
  ",": [0, 0, 0, 0, 0x0c, 0x04, 0x08],
  "-": [0, 0, 0, 0x1f, 0, 0, 0],
  ":": [0, 0x0c, 0x0c, 0, 0x0c, 0x0c, 0],
  "%": [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
  "/": [0, 0x01, 0x02, 0x04, 0x08, 0x10, 0],
  "(": [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
  ")": [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
  "×": [0, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0],
  "=": [0, 0, 0x1f, 0, 0x1f, 0, 0],
  "+": [0, 0x04, 0x04, 0x1f, 0x04, 0x04, 0],
  $: [0x04, 0x0f, 0x14, 0x0e, 0x05, 0x1e, 0x04],
  ">": [0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08],
  "<": [0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02],
  "≥": [0x08, 0x04, 0x02, 0x04, 0x08, 0, 0x1f],
  "≤": [0x02, 0x04, 0x08, 0x04, 0x02, 0, 0x1f],
  _: [0, 0, 0, 0, 0, 0, 0x1f],
  "'": [0x0c, 0x04, 0x08, 0, 0, 0, 0],
  µ: [0, 0, 0x11, 0x11, 0x13, 0x1d, 0x10],
  ε: [0, 0, 0x0f, 0x10, 0x1e, 0x10, 0x0f],
  "?": [0x0e, 0x11, 0x01, 0x02, 0x04, 0, 0x04],
};

/** Width of one character cell (5 pixels and a gap) at a scale. */
export const charWidth = (scale: number) => 6 * scale;

export class Canvas {
  readonly pixels: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    this.pixels = new Uint8Array(width * height * 3);
    this.fill(0, 0, width, height, background);
  }

  fill(x: number, y: number, w: number, h: number, c: Rgb): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++) {
      for (let xx = x0; xx < x1; xx++) {
        const i = (yy * this.width + xx) * 3;
        this.pixels[i] = c[0];
        this.pixels[i + 1] = c[1];
        this.pixels[i + 2] = c[2];
      }
    }
  }

  /** A horizontal line; `dash` > 0 draws dashes of that length. */
  hline(x: number, y: number, w: number, c: Rgb, thickness = 1, dash = 0): void {
    if (dash <= 0) return this.fill(x, y, w, thickness, c);
    for (let d = 0; d < w; d += 2 * dash) this.fill(x + d, y, Math.min(dash, w - d), thickness, c);
  }

  /** Text with its top-left corner at (x, y). */
  text(x: number, y: number, s: string, scale: number, c: Rgb): void {
    let cx = x;
    for (const ch of s) {
      const glyph = GLYPHS[ch] ?? GLYPHS[ch.toUpperCase()] ?? GLYPHS["?"]!;
      glyph.forEach((row, r) => {
        for (let b = 0; b < 5; b++) if (row & (0x10 >> b)) this.fill(cx + b * scale, y + r * scale, scale, scale, c);
      });
      cx += charWidth(scale);
    }
  }

  textWidth(s: string, scale: number): number {
    return [...s].length * charWidth(scale) - scale;
  }

  /** Text centred on x. */
  centred(x: number, y: number, s: string, scale: number, c: Rgb): void {
    this.text(Math.round(x - this.textWidth(s, scale) / 2), y, s, scale, c);
  }

  png(): Buffer {
    const raw = Buffer.alloc((this.width * 3 + 1) * this.height);
    for (let y = 0; y < this.height; y++) {
      raw[y * (this.width * 3 + 1)] = 0; // filter: none
      Buffer.from(this.pixels.buffer, y * this.width * 3, this.width * 3).copy(raw, y * (this.width * 3 + 1) + 1);
    }
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(this.width, 0);
    ihdr.writeUInt32BE(this.height, 4);
    ihdr[8] = 8; // bit depth
    ihdr[9] = 2; // colour type: RGB
    ihdr[10] = 0; // compression
    ihdr[11] = 0; // filter method
    ihdr[12] = 0; // no interlace
    return Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk("IHDR", ihdr),
      chunk("IDAT", deflateSync(raw, { level: 9 })),
      chunk("IEND", Buffer.alloc(0)),
    ]);
  }
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO 3309, as PNG uses it). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "ascii");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

export interface Series {
  name: string;
  color: Rgb;
  values: readonly number[];
}

export interface BarPanel {
  title: string;
  /** One label per group (the x axis). */
  groups: readonly string[];
  series: readonly Series[];
  /** Formats a value for the bar labels and the axis. */
  format: (v: number) => string;
  /** Horizontal reference lines, e.g. the ideal hit rate or the 1+ε bound. */
  refs?: readonly { value: number; label: string; color: Rgb }[];
  /** The top of the axis at most (e.g. 100 for a percentage). */
  axisMax?: number;
  /** Colour each group's bar by group (one series), e.g. one colour per policy. */
  groupColors?: readonly Rgb[];
}

const INK: Rgb = [40, 40, 40];
const GRID: Rgb = [225, 225, 225];
const MUTED: Rgb = [120, 120, 120];

/** A round step for about `n` ticks up to `max`. */
function niceStep(max: number, n: number): number {
  const raw = max / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

/** Draws one grouped bar chart into the rectangle (x, y, w, h). */
export function drawPanel(cv: Canvas, x: number, y: number, w: number, h: number, p: BarPanel): void {
  const S = 2;
  cv.text(x + 10, y + 8, p.title, S, INK);
  const refs = p.refs ?? [];
  // Legend at the top right: the series (when several), then the reference lines.
  let lx = x + w - 10;
  const legend = (label: string, swatch: (sx: number) => void, color: Rgb) => {
    lx -= cv.textWidth(label, S);
    cv.text(lx, y + 8, label, S, color);
    lx -= 30;
    swatch(lx);
    lx -= 18;
  };
  for (const r of [...refs].reverse()) legend(r.label, (sx) => cv.hline(sx, y + 14, 24, r.color, 2, 5), r.color);
  if (p.series.length > 1) for (const s of [...p.series].reverse()) legend(s.name, (sx) => cv.fill(sx + 12, y + 8, 12, 14, s.color), INK);

  const top = y + 44;
  const bottom = y + h - 34;
  const left = x + 74;
  const right = x + w - 12;
  const maxValue = Math.max(1e-9, ...p.series.flatMap((s) => s.values), ...refs.map((r) => r.value));
  const step = niceStep(maxValue * 1.12, 5);
  const axisMax = Math.min(p.axisMax ?? Infinity, Math.ceil((maxValue * 1.12) / step) * step);
  const yOf = (v: number) => bottom - (v / axisMax) * (bottom - top);
  for (let v = 0; v <= axisMax + step / 2; v += step) {
    const yy = Math.round(yOf(v));
    cv.hline(left, yy, right - left, v === 0 ? INK : GRID);
    const label = p.format(v);
    cv.text(left - 8 - cv.textWidth(label, S), yy - 7, label, S, MUTED);
  }
  for (const r of refs) cv.hline(left, Math.round(yOf(r.value)) - 1, right - left, r.color, 2, 8);
  const groupW = (right - left) / Math.max(1, p.groups.length);
  const barW = Math.min(64, (groupW * 0.9) / p.series.length);
  p.groups.forEach((g, gi) => {
    const gx = left + gi * groupW + (groupW - barW * p.series.length) / 2;
    p.series.forEach((s, si) => {
      const v = s.values[gi] ?? 0;
      const color = p.series.length === 1 && p.groupColors ? (p.groupColors[gi] ?? s.color) : s.color;
      const by = yOf(v);
      cv.fill(gx + si * barW + 1, by, barW - 2, bottom - by, color);
      const label = p.format(v);
      const ls = cv.textWidth(label, S) <= barW - 2 ? S : 1;
      const lw = cv.textWidth(label, ls);
      const cx = gx + si * barW + barW / 2;
      const ly = by - (ls === S ? 18 : 10);
      // A white backing, so a reference line does not strike the label through.
      cv.fill(cx - lw / 2 - 1, ly - 1, lw + 2, 7 * ls + 2, [255, 255, 255]);
      cv.centred(cx, ly, label, ls, INK);
    });
    cv.centred(left + gi * groupW + groupW / 2, bottom + 10, g, S, INK);
  });
}

/** Panels on a grid, `columns` wide, with a title line on top; returns the PNG. */
export function renderPanels(title: string, panels: readonly BarPanel[], columns = 2, panelW = 760, panelH = 420): Buffer {
  const rows = Math.ceil(panels.length / columns);
  const head = 40;
  const cv = new Canvas(columns * panelW, head + rows * panelH);
  cv.text(12, 12, title, 2, INK);
  panels.forEach((p, i) => {
    const px = (i % columns) * panelW;
    const py = head + Math.floor(i / columns) * panelH;
    cv.fill(px + 4, py + 2, panelW - 8, 1, GRID);
    drawPanel(cv, px, py + 4, panelW, panelH - 8, p);
  });
  return cv.png();
}
