/**
 * Origins: each origin's circuit and its transitions, TTFT (EWMA mean, its coefficient of
 * variation, and p50/p90 estimated from them), latency, throughput, error rate, load, the 24-hour
 * TTFT profile, and prefix-cache hit rates predicted against reported, per scenario; canaries
 * stopped on it. From `GET /admin/origins` and `GET /admin/origins/:origin/transitions`.
 */
import type { CircuitTransition } from "../../health/circuit";
import type { OriginSnapshot } from "../../health/types";
import { BarChart, Empty, Num, PairBars, Section, Val, Head } from "../components";
import { ago, int, lognormalQuantiles, ms, pct, time, type NumberFormat } from "../format";
import { isolateOf } from "../../isolate";
import { need, type ListOf, type Page } from "../page";

const ORIGINS = "/admin/origins";

function Metric({ o, name, label }: { o: OriginSnapshot; name: "ttftMs" | "coldTtftMs" | "latencyMs" | "tokensPerSec"; label: string }) {
  const m = o[name];
  const at = `data[origin=${o.origin}].${name}`;
  return (
    <tr>
      <th>{label}</th>
      {m ? (
        <>
          <td>{name === "tokensPerSec" ? <Num value={m.mean} format="ratio" api={ORIGINS} field={`${at}.mean`} /> : <Num value={m.mean} format="ms" api={ORIGINS} field={`${at}.mean`} />}</td>
          <td>{m.cv === null ? "—" : <Num value={m.cv} format="ratio" api={ORIGINS} field={`${at}.cv`} />}</td>
        </>
      ) : (
        <td colspan={2} class="muted">
          no sample yet
        </td>
      )}
    </tr>
  );
}

/** The prefix-cache table's bound columns, per scenario: field, format. */
const CACHE_COLUMNS = [
  ["requests", "int"],
  ["promptTokens", "int"],
  ["predictedRate", "pct"],
  ["hitRate", "pct"],
] as const;

/** One of an origin's counts, as a row: its label and its bound number. */
function FigureRow({ o, name, label, format }: { o: OriginSnapshot; name: "errorRate" | "samples" | "consecutiveFailures" | "inFlight"; label: string; format: NumberFormat }) {
  return (
    <tr>
      <th>{label}</th>
      <td>
        <Num value={o[name]} format={format} api={ORIGINS} field={`data[origin=${o.origin}].${name}`} />
      </td>
    </tr>
  );
}

function OriginCard({ o, transitions, now }: { o: OriginSnapshot; transitions: CircuitTransition[]; now: number }) {
  const at = `data[origin=${o.origin}]`;
  const q = o.ttftMs ? lognormalQuantiles(o.ttftMs.mean, o.ttftMs.variance) : null;
  const scenarios = Object.entries(o.prefixCache);
  const stops = Object.entries(o.canaryStops);
  return (
    <section class="card" id={`origin-${o.origin}`}>
      <h2>
        {o.origin} <Val value={o.circuit.state} api={ORIGINS} field={`${at}.circuit.state`} class={`badge state-${o.circuit.state}`} />
      </h2>
      <p class="muted">
        {o.circuit.since === 0 ? (
          `circuit ${o.circuit.state}: it has never tripped`
        ) : (
          <>
            circuit {o.circuit.state} since {time(o.circuit.since)} ({ago(o.circuit.since, now)}), reason {o.circuit.reason}
            {o.circuit.openUntil !== null ? `; probes from ${time(o.circuit.openUntil)}` : ""}
          </>
        )}
      </p>
      <div class="columns">
        <div>
          <table class="figures">
            <Head cols={["", "EWMA", "CV (stability)"]} />
            <tbody>
              <Metric o={o} name="ttftMs" label="TTFT" />
              <Metric o={o} name="coldTtftMs" label="TTFT, nothing cached" />
              <Metric o={o} name="latencyMs" label="latency" />
              <Metric o={o} name="tokensPerSec" label="tokens / s" />
            </tbody>
          </table>
          <table class="figures">
            <tbody>
              <tr>
                <th>TTFT p50 / p90 (est.)</th>
                <td title="estimated from the EWMA's mean and variance, assuming a log-normal distribution">{q ? `${ms(q.p50)} / ${ms(q.p90)}` : "—"}</td>
              </tr>
              <FigureRow o={o} name="errorRate" label="error rate" format="pct" />
              <FigureRow o={o} name="samples" label="samples" format="int" />
              <FigureRow o={o} name="consecutiveFailures" label="consecutive failures" format="int" />
              <tr>
                <th>failures attributed to tenants</th>
                <td>
                  <Num value={o.attributedToTenants} format="int" api={ORIGINS} field={`${at}.attributedToTenants`} />
                  {o.lastAttributed ? ` (last: ${o.lastAttributed.tenant}, ${o.lastAttributed.kind}, ${ago(o.lastAttributed.at, now)})` : ""}
                </td>
              </tr>
              <FigureRow o={o} name="inFlight" label="in flight" format="int" />
            </tbody>
          </table>
        </div>
        <div>
          <h3>TTFT by hour of day</h3>
          <BarChart
            label={`TTFT by hour of day at ${o.origin}`}
            format="ms"
            height={120}
            every={3}
            bars={o.hourlyTtftMs.map((h, hour) => ({ label: String(hour).padStart(2, "0"), value: h?.mean ?? null, tip: h ? `${hour}:00 ${ms(h.mean)} over ${int(h.samples)} samples` : `${hour}:00 no sample` }))}
          />
        </div>
      </div>
      <h3>Prefix cache: predicted against reported hit rate</h3>
      {scenarios.length === 0 ? (
        <Empty text="No request has reported its cached tokens here yet." />
      ) : (
        <>
          <PairBars
            label={`prefix-cache hit rates at ${o.origin}`}
            legend={["predicted by the index", "reported by the origin"]}
            rows={scenarios.map(([s, st]) => ({ label: s, a: st.predictedRate, b: st.hitRate, tipA: `${s}: predicted ${pct(st.predictedRate)}`, tipB: `${s}: reported ${pct(st.hitRate)}` }))}
          />
          <table>
            <Head cols={["scenario", "requests", "prompt tokens", "predicted", "reported", "precision"]} />
            <tbody>
              {scenarios.map(([s, st]) => (
                <tr>
                  <td>{s}</td>
                  {CACHE_COLUMNS.map(([field, format]) => (
                    <td>
                      <Num value={st[field]} format={format} api={ORIGINS} field={`${at}.prefixCache[${s}].${field}`} />
                    </td>
                  ))}
                  <td>{st.precision === null ? "—" : pct(st.precision)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {stops.length > 0 && (
        <>
          <h3>Canaries stopped here</h3>
          <ul>
            {stops.map(([s, stop]) => (
              <li>
                <a href={`/console/scenarios/${s}`}>{s}</a>: {stop.reason}, {time(stop.at)}
              </li>
            ))}
          </ul>
        </>
      )}
      <details>
        <summary>Circuit transitions ({transitions.length})</summary>
        {transitions.length === 0 ? (
          <Empty text="None yet." />
        ) : (
          <table>
            <tbody>
              {transitions.map((t) => (
                <tr>
                  <td>{time(t.at)}</td>
                  <td>
                    {t.from} → {t.to}
                  </td>
                  <td>{t.reason}</td>
                  <td>{t.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </details>
    </section>
  );
}

export async function originsPage(p: Page) {
  // The active config names the origins `/admin/origins` lists: their transitions are asked at the same time.
  const names = Object.keys(isolateOf(p.c.env).config.origins);
  const [origins, transitions] = await Promise.all([
    p.api.get<ListOf<OriginSnapshot>>(ORIGINS).then(need),
    Promise.all(names.map((name) => p.api.get<ListOf<CircuitTransition>>(`/admin/origins/${encodeURIComponent(name)}/transitions`).then(need))),
  ]);
  const transitionsOf = new Map(names.map((name, i) => [name, transitions[i]!.data]));
  return (
    <>
      <p class="muted">
        Shared health from each origin's monitor: EWMAs over every isolate's reports (α from the config), the 24-hour profile in the origin's time zone. This page reloads every 15 s.
      </p>
      {origins.data.map((o) => (
        <OriginCard o={o} transitions={transitionsOf.get(o.origin) ?? []} now={p.now} />
      ))}
    </>
  );
}
