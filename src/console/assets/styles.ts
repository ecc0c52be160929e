/** The console's stylesheet, served as `/console/assets/console.css` (no inline style anywhere). */
export const CONSOLE_CSS = `
:root { --fg: #1d2330; --muted: #687085; --line: #dfe3ea; --bg: #f6f7f9; --card: #fff; --accent: #2f6fde;
  --ok: #1f8a4c; --warn: #c27c0e; --bad: #c2352b; --used: #2f6fde; --reserved: #f0a73a; --remaining: #e4e8ef; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
header.top { display: flex; align-items: center; gap: 24px; padding: 10px 24px; background: #141a26; color: #fff; }
header.top a { color: #cfd6e4; } header.top a.active { color: #fff; font-weight: 600; border-bottom: 2px solid var(--accent); }
.brand { font-weight: 700; color: #fff !important; } .brand .muted { color: #8a93a6; font-weight: 400; }
header nav { display: flex; gap: 18px; flex: 1; }
.who { display: flex; align-items: center; gap: 10px; margin-left: auto; }
main { max-width: 1180px; margin: 0 auto; padding: 12px 24px 48px; }
h1 { font-size: 22px; margin: 12px 0 14px; } h2 { font-size: 17px; margin: 22px 0 8px; } h3 { font-size: 14px; margin: 14px 0 6px; color: var(--muted); }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 4px 18px 14px; margin: 14px 0; }
table { border-collapse: collapse; width: 100%; background: var(--card); margin: 6px 0; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
table.figures { width: auto; min-width: 320px; } table.compact td { padding: 3px 8px; }
table.windows td, table.windows th { font-size: 16px; } table.windows td .num { font-weight: 600; }
.muted { color: var(--muted); } .empty { color: var(--muted); font-style: italic; }
.num { font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; background: #e8ebf1; color: var(--fg); }
.state-closed, .key-live { background: #dff3e6; color: var(--ok); }
.state-half_open { background: #fbefd9; color: var(--warn); }
.state-open, .key-revoked, .key-expired { background: #f8dedb; color: var(--bad); }
.role-admin { background: var(--accent); color: #fff; } .role-read { background: #6b7386; color: #fff; } .role-tenant { background: var(--ok); color: #fff; }
.tiles { display: flex; gap: 12px; margin: 12px 0; }
.tile { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px; min-width: 170px; }
.tile-value { font-size: 20px; font-weight: 600; } .tile-label { color: var(--muted); font-size: 12px; }
.columns { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; }
.tabs { margin: 10px 0; color: var(--muted); } .tabs a { margin: 0 6px; } .tabs a.active { font-weight: 700; color: var(--fg); }
svg.chart { display: block; max-width: 760px; background: var(--card); }
svg .bar { fill: var(--accent); } svg .bar:hover { fill: #1b4fae; }
svg .bar-a { fill: #9db8ec; } svg .bar-b { fill: var(--accent); }
svg .axis { stroke: var(--line); } svg .tick { fill: var(--muted); font-size: 11px; }
svg.stacked { display: block; max-width: 760px; height: 18px; border-radius: 4px; }
svg .track { fill: var(--remaining); } svg .used { fill: var(--used); } svg .reserved { fill: var(--reserved); }
.budget { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; margin: 8px 0; }
.budget-head { margin-bottom: 6px; } .legend { margin-top: 6px; color: var(--muted); }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-left: 10px; }
.swatch.used { background: var(--used); } .swatch.reserved { background: var(--reserved); } .swatch.remaining { background: var(--remaining); border: 1px solid var(--line); }
form.inline { display: inline; } .actions form { margin-right: 6px; } td.actions { white-space: nowrap; } .nowrap { white-space: nowrap; }
h2 .button { font-size: 13px; font-weight: 400; margin-left: 8px; vertical-align: middle; }
.columns table.figures { width: 100%; }
.form-grid { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-end; margin: 10px 0; }
.form-grid label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
input, select, button, .button { font: inherit; padding: 5px 9px; border: 1px solid #c6ccd8; border-radius: 6px; background: #fff; color: var(--fg); }
button, .button { cursor: pointer; background: #eef1f6; } button:hover, .button:hover { background: #e2e7ef; text-decoration: none; }
button.danger { color: var(--bad); border-color: #e3b7b2; }
header.top button { background: transparent; color: #cfd6e4; border-color: #3a4357; }
.notice { padding: 8px 12px; border-radius: 6px; } .notice.ok { background: #dff3e6; } .notice.error { background: #f8dedb; }
.secret { background: #fff8e5; border: 1px solid #f0d48a; border-radius: 8px; padding: 8px 14px; margin: 10px 0; }
.secret code { font-size: 13px; word-break: break-all; }
form.sign-in { max-width: 440px; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; }
form.sign-in label { display: flex; flex-direction: column; gap: 4px; margin: 10px 0; }
details.decision { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; margin: 6px 0; }
details summary { cursor: pointer; }
ul.plain { list-style: none; padding: 0; margin: 0; }
pre { background: var(--card); border: 1px solid var(--line); padding: 10px; overflow: auto; max-height: 480px; }
tr.op-added td { background: #eef9f1; } tr.op-removed td { background: #fcefed; }
form.search { margin: 8px 0; display: flex; gap: 8px; }
@media (max-width: 800px) { .columns { grid-template-columns: 1fr; } header.top { flex-wrap: wrap; } }
`;
