/**
 * Overview: requests, tokens, cost and error rate over the last hour, day and 30 days, summed
 * across tenants by `GET /admin/usage/summary`; the top tenants and scenarios of one window; cost
 * per day; and the origins' state at a glance (`GET /admin/origins`).
 */
import type { OriginSnapshot } from "../../health/types";
import { BarChart, costPerDay, Empty, Num, Section, Tile, Head } from "../components";
import { int, ms, pct, usd } from "../format";
import { need, query, type CrossTenantSummary, type ListOf, type Page, type UsageRow } from "../page";

export const WINDOWS = [
  { id: "1h", label: "Last hour", ms: 3_600_000 },
  { id: "1d", label: "Last day", ms: 86_400_000 },
  { id: "30d", label: "Last 30 days", ms: 30 * 86_400_000 },
] as const;
export type WindowId = (typeof WINDOWS)[number]["id"];

const TOP = 10;
const FIGURES = ["requests", "tokens", "prompt cached", "cost", "error rate"];

function summaryPath(from: number, to: number, groupBy: string): string {
  return `/admin/usage/summary${query({ from, to, group_by: groupBy })}`;
}

/** A usage row's figures, each bound to its place in the answer. */
function Figures({ row, api, at }: { row: UsageRow; api: string; at: string }) {
  return (
    <>
      <td>
        <Num value={row.requests} format="int" api={api} field={`${at}.requests`} />
      </td>
      <td>
        <Num value={row.promptTokens + row.completionTokens} format="int" api={api} field={`${at}.promptTokens+${at}.completionTokens`} />
      </td>
      <td>
        <Num value={row.promptTokens ? row.cachedTokens / row.promptTokens : 0} format="pct" api={api} field={`${at}.cachedTokens/${at}.promptTokens`} />
      </td>
      <td>
        <Num value={row.costMicros} format="usd" api={api} field={`${at}.costMicros`} />
      </td>
      <td>
        <Num value={row.requests ? row.errors / row.requests : 0} format="pct" api={api} field={`${at}.errors/${at}.requests`} />
      </td>
    </>
  );
}

function TopTable({ rows, api, what }: { rows: UsageRow[]; api: string; what: string }) {
  const top = [...rows].sort((a, b) => b.costMicros - a.costMicros || b.requests - a.requests).slice(0, TOP);
  if (top.length === 0) return <Empty text={`No ${what} had traffic in this window.`} />;
  return (
    <table>
      <Head cols={[what, ...FIGURES]} />
      <tbody>
        {top.map((r) => (
          <tr>
            <td class="nowrap">{what === "tenant" ? <a href={`/console/tenants/${r.group}`}>{r.group}</a> : what === "scenario" ? <a href={`/console/scenarios/${r.group}`}>{r.group}</a> : r.group}</td>
            <Figures row={r} api={api} at={`data[group=${r.group}]`} />
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export async function overviewPage(p: Page, windowId: WindowId) {
  const to = p.now + 1;
  const selected = WINDOWS.find((w) => w.id === windowId)!;
  const paths = {
    windows: WINDOWS.map((w) => summaryPath(p.now - w.ms, to, "tenant")),
    models: summaryPath(p.now - selected.ms, to, "model"),
    days: summaryPath(p.now - 30 * 86_400_000, to, "day"),
    origins: "/admin/origins",
  };
  const [windows, models, days, origins] = await Promise.all([
    Promise.all(paths.windows.map((path) => p.api.get<CrossTenantSummary>(path).then(need))),
    p.api.get<CrossTenantSummary>(paths.models).then(need),
    p.api.get<CrossTenantSummary>(paths.days).then(need),
    p.api.get<ListOf<OriginSnapshot>>(paths.origins).then(need),
  ]);
  const selectedIndex = WINDOWS.indexOf(selected);
  const tenants = windows[selectedIndex]!;
  return (
    <>
      <table class="windows" id="windows">
        <Head cols={["", ...FIGURES]} />
        <tbody>
          {WINDOWS.map((w, i) => (
            <tr id={`window-${w.id}`}>
              <th>{w.label}</th>
              <Figures row={windows[i]!.total} api={paths.windows[i]!} at="total" />
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted">
        Summed over {tenants.tenants === 1 ? "1 tenant" : `${int(tenants.tenants)} tenants`}{tenants.truncated ? " (the first by id: more exist)" : ""} from their usage logs. Prompt cached: the share of prompt tokens the origins reported served from their prefix cache (billed at the cached price). Errors: answers 5xx, and streams that broke or timed out.
      </p>
      <div class="tiles">
        <Tile label="origins with an open circuit">
          {int(origins.data.filter((o) => o.circuit.state === "open").length)} / {int(origins.data.length)}
        </Tile>
        <Tile label="canaries stopped">{int(origins.data.reduce((n, o) => n + Object.keys(o.canaryStops).length, 0))}</Tile>
        <Tile label="requests in flight">{int(origins.data.reduce((n, o) => n + o.inFlight, 0))}</Tile>
      </div>
      <nav class="tabs">
        Top of:{" "}
        {WINDOWS.map((w) => (
          <a href={`/console/overview?window=${w.id}`} class={w.id === selected.id ? "active" : ""}>
            {w.label.toLowerCase()}
          </a>
        ))}
      </nav>
      <div class="columns">
        <Section title="Top tenants" id="top-tenants">
          <TopTable rows={tenants.data} api={paths.windows[selectedIndex]!} what="tenant" />
        </Section>
        <Section title="Top scenarios" id="top-scenarios">
          <TopTable rows={models.data} api={paths.models} what="scenario" />
        </Section>
      </div>
      <Section title="Cost per day, last 30 days" id="cost-per-day">
        {days.data.length === 0 ? (
          <Empty text="No usage in the last 30 days." />
        ) : (
          <BarChart label="cost per day" format="usd" bars={costPerDay(days.data, p.now, 30)} />
        )}
      </Section>
      <Section title="Origins" id="origins-glance">
        <table>
          <Head cols={["origin", "circuit", "TTFT (EWMA)", "error rate", "in flight"]} />
          <tbody>
            {origins.data.map((o) => (
              <tr>
                <td>
                  <a href={`/console/origins#origin-${o.origin}`}>{o.origin}</a>
                </td>
                <td>
                  <span class={`badge state-${o.circuit.state}`}>{o.circuit.state}</span>
                </td>
                <td>{o.ttftMs ? ms(o.ttftMs.mean) : "—"}</td>
                <td>{pct(o.errorRate)}</td>
                <td>{int(o.inFlight)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
    </>
  );
}
