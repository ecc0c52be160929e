/**
 * The console's building blocks: the page shell, numbers bound to the API answer they come from,
 * and charts as server-rendered SVG (no client library, no inline style: shapes are sized by
 * attributes and coloured by the stylesheet's classes, so the CSP needs no `unsafe-inline`).
 *
 * A number shown is a {@link Num}: its element carries the admin API path it came from
 * (`data-api`), the field of that answer (`data-field`: a path such as `total.costMicros` or
 * `data[group=acme].requests`, or two joined by `+` or `/`), and the raw value (`data-value`).
 * The browser test reads every one of them and compares it with the API's own answer.
 */
import type { Child, FC, PropsWithChildren } from "hono/jsx";
import { CSRF_FIELD } from "./csrf";
import type { UsageTotals } from "../ledger/types";
import { formatNumber, int, lastDays, usd, type NumberFormat } from "./format";
import type { Session } from "./session";

export const ASSET_VERSION = "1";

interface LayoutProps {
  title: string;
  session: Session | null;
  csrf: string;
  active?: string;
  /** Seconds after which the page reloads itself (live health pages). */
  refresh?: number;
  notice?: { kind: "ok" | "error"; text: string } | null;
}

const OPERATOR_NAV: Array<[string, string]> = [
  ["overview", "Overview"],
  ["origins", "Origins"],
  ["scenarios", "Scenarios"],
  ["tenants", "Tenants"],
  ["config", "Config"],
];

export const Layout: FC<PropsWithChildren<LayoutProps>> = ({ title, session, csrf, active, refresh, notice, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{`${title} · Token Router`}</title>
      <link rel="stylesheet" href={`/console/assets/console.css?v=${ASSET_VERSION}`} />
      <script src={`/console/assets/console.js?v=${ASSET_VERSION}`} defer></script>
    </head>
    <body data-refresh={refresh ? String(refresh) : undefined} data-page={active ?? "sign-in"}>
      <header class="top">
        <a class="brand" href="/console">
          Token Router <span class="muted">console</span>
        </a>
        {session && (
          <nav>
            {session.role === "tenant" ? (
              <a href={`/console/tenants/${session.tenant}`} class={active === "tenant" ? "active" : ""}>
                Usage, budgets and keys
              </a>
            ) : (
              OPERATOR_NAV.map(([id, label]) => (
                <a href={`/console/${id}`} class={active === id ? "active" : ""}>
                  {label}
                </a>
              ))
            )}
          </nav>
        )}
        {session && (
          <div class="who">
            <span class={`badge role-${session.role}`} id="role">
              {session.role === "admin" ? "admin" : session.role === "read" ? "read-only" : `tenant ${session.tenant}`}
            </span>
            <span class="muted" title="token fingerprint (as the audit log records it) or key hint">
              {session.fp}
            </span>
            <form method="post" action="/console/sign-out" class="inline">
              <input type="hidden" name={CSRF_FIELD} value={csrf} />
              <button type="submit" id="sign-out">
                Sign out
              </button>
            </form>
          </div>
        )}
      </header>
      <main>
        <h1>{title}</h1>
        {notice && (
          <p class={`notice ${notice.kind}`} role={notice.kind === "error" ? "alert" : "status"} id="notice">
            {notice.text}
          </p>
        )}
        {children}
      </main>
    </body>
  </html>
);

/** A hidden CSRF field for a form. */
export const Csrf: FC<{ token: string }> = ({ token }) => <input type="hidden" name={CSRF_FIELD} value={token} />;

/** A POST form to a console action, CSRF-protected; `confirm`: the browser asks first. */
export const Action: FC<PropsWithChildren<{ action: string; csrf: string; confirm?: string; class?: string; id?: string }>> = (p) => (
  <form method="post" action={p.action} class={p.class ?? "inline"} data-confirm={p.confirm} id={p.id}>
    <Csrf token={p.csrf} />
    {p.children}
  </form>
);

/** A number, formatted, bound to the API answer it comes from (see the module comment). */
export const Num: FC<{ value: number; format: NumberFormat; api: string; field: string; id?: string }> = ({ value, format, api, field, id }) => (
  <span class="num" data-api={api} data-field={field} data-value={String(value)} id={id}>
    {formatNumber(value, format)}
  </span>
);

/** A value that is text (a circuit state, say), bound like {@link Num}. */
export const Val: FC<{ value: string; api: string; field: string; class?: string }> = ({ value, api, field, class: cls }) => (
  <span class={cls} data-api={api} data-field={field} data-value={value}>
    {value}
  </span>
);

/** A figure with a caption, for the tiles of the overview. */
export const Tile: FC<PropsWithChildren<{ label: string }>> = ({ label, children }) => (
  <div class="tile">
    <div class="tile-value">{children}</div>
    <div class="tile-label">{label}</div>
  </div>
);

export const Section: FC<PropsWithChildren<{ title: string; id?: string; aside?: Child }>> = ({ title, id, aside, children }) => (
  <section id={id}>
    <h2>
      {title} {aside}
    </h2>
    {children}
  </section>
);

/** A table's header row. */
export const Head: FC<{ cols: readonly string[] }> = ({ cols }) => (
  <thead>
    <tr>
      {cols.map((c) => (
        <th>{c}</th>
      ))}
    </tr>
  </thead>
);

export const Empty: FC<{ text: string }> = ({ text }) => <p class="empty">{text}</p>;

// ── charts ────────────────────────────────────────────────────────────────────────────────────

export interface Bar {
  label: string;
  value: number | null;
  /** The tooltip (an SVG `<title>`). */
  tip: string;
}

/**
 * A vertical bar chart. Bars without a value leave a gap; the axis starts at 0 and ends at the
 * largest value.
 */
export const BarChart: FC<{ bars: Bar[]; format: NumberFormat; label: string; height?: number; every?: number }> = ({ bars, format, label, height = 150, every }) => {
  const width = 640;
  const left = 76;
  const bottom = 22;
  const top = 8;
  const plotH = height - bottom - top;
  const max = Math.max(0, ...bars.map((b) => b.value ?? 0));
  const slot = (width - left) / Math.max(1, bars.length);
  const barW = Math.max(1, Math.min(56, slot * 0.72));
  const labelEvery = every ?? Math.max(1, Math.ceil(bars.length / 12));
  return (
    <svg class="chart" viewBox={`0 0 ${width} ${height}`} width="100%" role="img" aria-label={label}>
      <line class="axis" x1={left} y1={top + plotH} x2={width} y2={top + plotH} />
      <text class="tick" x={left - 6} y={top + 8} text-anchor="end">
        {formatNumber(max, format)}
      </text>
      <text class="tick" x={left - 6} y={top + plotH} text-anchor="end">
        0
      </text>
      {bars.map((b, i) => {
        const h = max > 0 && b.value !== null ? Math.max(b.value > 0 ? 1 : 0, (b.value / max) * plotH) : 0;
        const x = left + i * slot + (slot - barW) / 2;
        return (
          <g>
            {b.value !== null && (
              <rect class="bar" x={x.toFixed(1)} y={(top + plotH - h).toFixed(1)} width={barW.toFixed(1)} height={h.toFixed(1)}>
                <title>{b.tip}</title>
              </rect>
            )}
            {i % labelEvery === 0 && (
              <text class="tick" x={(x + barW / 2).toFixed(1)} y={height - 6} text-anchor="middle">
                {b.label}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
};

/**
 * Cost per day as bars, one per day of the last `days` (a day without usage is an empty slot, so
 * the time axis stays true), plus any day the rows name outside them (a tenant's own day may be
 * UTC's tomorrow).
 */
export function costPerDay(rows: readonly UsageTotals[], now: number, days: number): Bar[] {
  const byDay = new Map(rows.map((r) => [r.group, r]));
  const slots = [...new Set([...lastDays(now, days), ...byDay.keys()])].sort();
  return slots.map((day) => {
    const r = byDay.get(day);
    return { label: day.slice(5), value: r ? r.costMicros : 0, tip: r ? `${day}: ${usd(r.costMicros)}, ${int(r.requests)} requests` : `${day}: no usage` };
  });
}

/** One horizontal bar split into parts (a budget: settled, reserved, remaining). */
export const StackedBar: FC<{ parts: Array<{ value: number; class: string; tip: string }>; total: number; label: string }> = ({ parts, total, label }) => {
  const width = 640;
  let x = 0;
  return (
    <svg class="stacked" viewBox={`0 0 ${width} 18`} preserveAspectRatio="none" width="100%" role="img" aria-label={label}>
      <rect class="track" x="0" y="0" width={width} height="18" />
      {parts.map((p) => {
        const w = total > 0 ? Math.min(width - x, (Math.max(0, p.value) / total) * width) : 0;
        const rect = (
          <rect class={p.class} x={x.toFixed(1)} y="0" width={w.toFixed(1)} height="18">
            <title>{p.tip}</title>
          </rect>
        );
        x += w;
        return rect;
      })}
    </svg>
  );
};

/** Pairs of horizontal bars on a 0-1 scale: predicted against reported, per row. */
export const PairBars: FC<{ rows: Array<{ label: string; a: number; b: number; tipA: string; tipB: string }>; label: string; legend: [string, string] }> = ({ rows, label, legend }) => {
  const width = 640;
  const left = 150;
  const rowH = 30;
  const height = rows.length * rowH + 20;
  const scale = (v: number) => Math.max(0, Math.min(1, v)) * (width - left - 50);
  return (
    <svg class="chart" viewBox={`0 0 ${width} ${height}`} width="100%" role="img" aria-label={label}>
      {rows.map((r, i) => {
        const y = i * rowH + 4;
        return (
          <g>
            <text class="tick" x={left - 8} y={y + 15} text-anchor="end">
              {r.label}
            </text>
            <rect class="bar-a" x={left} y={y} width={scale(r.a).toFixed(1)} height="10">
              <title>{r.tipA}</title>
            </rect>
            <rect class="bar-b" x={left} y={y + 12} width={scale(r.b).toFixed(1)} height="10">
              <title>{r.tipB}</title>
            </rect>
            <text class="tick" x={left + scale(r.a) + 4} y={y + 9}>
              {formatNumber(r.a, "pct")}
            </text>
            <text class="tick" x={left + scale(r.b) + 4} y={y + 21}>
              {formatNumber(r.b, "pct")}
            </text>
          </g>
        );
      })}
      <rect class="bar-a" x={left} y={height - 12} width="10" height="8" />
      <text class="tick" x={left + 14} y={height - 4}>
        {legend[0]}
      </text>
      <rect class="bar-b" x={left + 150} y={height - 12} width="10" height="8" />
      <text class="tick" x={left + 164} y={height - 4}>
        {legend[1]}
      </text>
    </svg>
  );
};
