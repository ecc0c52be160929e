/**
 * The chart of the day (PNG, no dependency; the canvas, font and bar panels of the affinity
 * benchmark's chart.ts): on top the price in force per origin by hour with the day's windows
 * shaded; then, per policy, where each hour's tokens were served (stacked bars) and the hour's
 * interactive TTFT p99 (line, right axis, with the SLO dashed); at the bottom, the policies side by
 * side on cost, SLO attainment and TTFT stability.
 */
import { inSpan } from "../../../src/sim/day-profile";
import { Canvas, drawPanel, type BarPanel, type Rgb } from "../affinity/chart";
import { LOWCOST_DISCOUNT, ORIGINS, POOL_MAINTENANCE, POOL_RESERVED, PREMIUM_BROWNOUT, type OriginName } from "./origins";
import { POLICY_SHORT, SLO_TTFT_MS } from "./policies";
import { pricesAt } from "./prices";
import type { PolicySummary } from "./summary";

const INK: Rgb = [40, 40, 40];
const MUTED: Rgb = [120, 120, 120];
const GRID: Rgb = [228, 228, 228];
const ORIGIN_COLORS: Record<OriginName, Rgb> = { pool: [70, 130, 180], "maas-lowcost": [230, 150, 60], "maas-premium": [150, 90, 170] };
const S = 2;

/** A line of `thickness` pixels from (x0, y0) to (x1, y1). */
function line(cv: Canvas, x0: number, y0: number, x1: number, y1: number, c: Rgb, thickness = 2): void {
  const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
  for (let i = 0; i <= steps; i++) cv.fill(x0 + ((x1 - x0) * i) / steps - thickness / 2, y0 + ((y1 - y0) * i) / steps - thickness / 2, thickness, thickness, c);
}

interface Frame {
  left: number;
  right: number;
  top: number;
  bottom: number;
  /** x of the start of an hour (0-24). */
  x(hour: number): number;
}

function frame(x: number, y: number, w: number, h: number, topPad = 34): Frame {
  const left = x + 80;
  const right = x + w - 80;
  const top = y + topPad;
  const bottom = y + h - 26;
  return { left, right, top, bottom, x: (hour) => left + ((right - left) * hour) / 24 };
}

function hourAxis(cv: Canvas, f: Frame): void {
  cv.hline(f.left, f.bottom, f.right - f.left, INK);
  for (let h = 0; h <= 24; h += 3) cv.centred(f.x(h), f.bottom + 6, `${String(h).padStart(2, "0")}`, S, MUTED);
}

/** Shades the minutes of the day a span covers, between top and bottom. */
function shade(cv: Canvas, f: Frame, span: { from: string; to: string }, color: Rgb, epochMs: number): void {
  for (let m = 0; m < 24 * 60; m += 5) {
    if (inSpan(span, epochMs + m * 60_000)) cv.fill(f.x(m / 60), f.top, f.x((m + 5) / 60) - f.x(m / 60) + 1, f.bottom - f.top, color);
  }
}

function pricePanel(cv: Canvas, x: number, y: number, w: number, h: number, epochMs: number): void {
  cv.text(x + 10, y + 8, "PRICE IN FORCE, INPUT $/MTOK", S, INK);
  const f = frame(x, y, w, h, 50);
  let kx = x + 10;
  for (const [label, color] of [
    ["POOL RESERVED FOR INTERACTIVE", [226, 236, 248]],
    ["POOL MAINTENANCE", [215, 215, 215]],
    ["PREMIUM BROWN-OUT", [250, 200, 200]],
    ["LOWCOST OFF-PEAK", [236, 246, 230]],
  ] as const) {
    cv.fill(kx, y + 26, 14, 12, color);
    cv.text(kx + 20, y + 26, label, S, MUTED);
    kx += cv.textWidth(label, S) + 44;
  }
  shade(cv, f, POOL_RESERVED, [226, 236, 248], epochMs);
  shade(cv, f, LOWCOST_DISCOUNT, [236, 246, 230], epochMs);
  shade(cv, f, POOL_MAINTENANCE, [215, 215, 215], epochMs);
  shade(cv, f, PREMIUM_BROWNOUT, [250, 200, 200], epochMs);
  const max = Math.max(...ORIGINS.map((o) => pricesAt(o, epochMs).input)) * 1.15;
  const yOf = (micros: number) => f.bottom - (micros / max) * (f.bottom - f.top);
  for (let v = 0; v <= max; v += 100_000) {
    cv.hline(f.left, Math.round(yOf(v)), f.right - f.left, GRID);
    cv.text(f.left - 8 - cv.textWidth(`${(v / 1e6).toFixed(1)}`, S), Math.round(yOf(v)) - 7, `${(v / 1e6).toFixed(1)}`, S, MUTED);
  }
  let lx = f.right;
  for (const o of [...ORIGINS].reverse()) {
    let prev: number | null = null;
    for (let m = 0; m <= 24 * 60; m += 5) {
      const p = yOf(pricesAt(o, epochMs + Math.min(m, 24 * 60 - 1) * 60_000).input);
      if (prev !== null) line(cv, f.x((m - 5) / 60), prev, f.x(m / 60), p, ORIGIN_COLORS[o], 3);
      prev = p;
    }
    lx -= cv.textWidth(o.toUpperCase(), S) + 40;
    cv.fill(lx, y + 10, 14, 10, ORIGIN_COLORS[o]);
    cv.text(lx + 20, y + 8, o.toUpperCase(), S, INK);
    // The same legend serves the token bars below.
  }
  hourAxis(cv, f);
}

function dayPanel(cv: Canvas, x: number, y: number, w: number, h: number, s: PolicySummary, tokenMax: number, epochMs: number): void {
  const title = `${s.label.toUpperCase()}   $${(s.costMicros / 1e6).toFixed(3)}   SLO ${s.interactive.slo === null ? "-" : (s.interactive.slo * 100).toFixed(1)}%   CV ${s.interactive.cv?.toFixed(2) ?? "-"}   ERRORS ${s.errors}`;
  cv.text(x + 10, y + 8, title, S, INK);
  const key = "BARS: TOKENS/HOUR BY ORIGIN. LINE: INTERACTIVE P99";
  cv.text(x + w - 80 - cv.textWidth(key, S), y + 8, key, S, MUTED);
  const f = frame(x, y, w, h);
  shade(cv, f, PREMIUM_BROWNOUT, [252, 225, 225], epochMs);
  // Left axis: tokens per hour, stacked by origin.
  const yTok = (t: number) => f.bottom - (t / tokenMax) * (f.bottom - f.top);
  for (let v = 0; v <= tokenMax; v += Math.max(1, niceStep(tokenMax))) {
    cv.hline(f.left, Math.round(yTok(v)), f.right - f.left, GRID);
    const label = `${Math.round(v / 1000)}K`;
    cv.text(f.left - 8 - cv.textWidth(label, S), Math.round(yTok(v)) - 7, label, S, MUTED);
  }
  for (let hour = 0; hour < 24; hour++) {
    let base = 0;
    for (const o of ORIGINS) {
      const t = s.hourly.tokensByOrigin[o]?.[hour] ?? 0;
      cv.fill(f.x(hour) + 2, yTok(base + t), f.x(hour + 1) - f.x(hour) - 4, yTok(base) - yTok(base + t), ORIGIN_COLORS[o]);
      base += t;
    }
  }
  // Right axis: interactive p99 (ms), capped at 4× the SLO; a value above the cap is drawn at it.
  const cap = 4 * SLO_TTFT_MS;
  const yMs = (v: number) => f.bottom - (Math.min(v, cap) / cap) * (f.bottom - f.top);
  for (let v = 0; v <= cap; v += SLO_TTFT_MS) {
    const label = `${v / 1000}S`;
    cv.text(f.right + 8, Math.round(yMs(v)) - 7, label, S, MUTED);
  }
  cv.hline(f.left, Math.round(yMs(SLO_TTFT_MS)), f.right - f.left, [200, 50, 50], 2, 8);
  let prev: { x: number; y: number } | null = null;
  s.hourly.interactiveP99.forEach((p, hour) => {
    if (p === null) {
      prev = null;
      return;
    }
    const pt = { x: f.x(hour + 0.5), y: yMs(p) };
    if (prev) line(cv, prev.x, prev.y, pt.x, pt.y, INK, 3);
    cv.fill(pt.x - 4, pt.y - 4, 8, 8, p > cap ? [200, 50, 50] : INK);
    prev = pt;
  });
  hourAxis(cv, f);
}

function niceStep(max: number): number {
  const raw = max / 4;
  const mag = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1))));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

/** The whole chart. */
export function dayChartPng(title: string, summaries: readonly PolicySummary[], epochMs: number): Buffer {
  const width = 1600;
  const head = 40;
  const priceH = 240;
  const dayH = 250;
  const barH = 360;
  const height = head + priceH + summaries.length * dayH + barH;
  const cv = new Canvas(width, height);
  cv.text(12, 12, title, S, INK);
  pricePanel(cv, 0, head, width, priceH, epochMs);
  const tokenMax = Math.max(1, ...summaries.flatMap((s) => Array.from({ length: 24 }, (_, h) => ORIGINS.reduce((a, o) => a + (s.hourly.tokensByOrigin[o]?.[h] ?? 0), 0)))) * 1.1;
  summaries.forEach((s, i) => {
    const py = head + priceH + i * dayH;
    cv.fill(4, py, width - 8, 1, GRID);
    dayPanel(cv, 0, py, width, dayH, s, tokenMax, epochMs);
  });
  const groups = summaries.map((s) => POLICY_SHORT[s.policy]);
  const panels: BarPanel[] = [
    { title: "COST PER 1,000 ANSWERED", groups, series: [{ name: "cost", color: [120, 120, 120], values: summaries.map((s) => (s.costMicrosPer1k ?? 0) / 1e6) }], format: (v) => `$${v.toFixed(2)}` },
    {
      title: `INTERACTIVE SLO (<= ${SLO_TTFT_MS} MS)`,
      groups,
      series: [{ name: "slo", color: [60, 140, 90], values: summaries.map((s) => (s.interactive.slo ?? 0) * 100) }],
      // One decimal: 98.9 % and 99.0 % are on either side of the goal.
      format: (v) => `${v.toFixed(v === Math.round(v) ? 0 : 1)}%`,
      axisMax: 100,
      refs: [{ value: 99, label: "GOAL 99%", color: [200, 60, 60] }],
    },
    { title: "INTERACTIVE TTFT CV", groups, series: [{ name: "cv", color: [70, 120, 190], values: summaries.map((s) => s.interactive.cv ?? 0) }], format: (v) => v.toFixed(2) },
  ];
  const by = head + priceH + summaries.length * dayH;
  const pw = width / panels.length;
  panels.forEach((p, i) => drawPanel(cv, i * pw, by + 4, pw, barH - 8, p));
  return cv.png();
}

