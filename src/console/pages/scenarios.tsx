/**
 * Scenarios: their candidates and time windows, canary (share, stop criteria, the canary origin's
 * current figures, stop and resume), shadow (its results next to the primary's), prefix-cache
 * affinity, and recent routing decisions, each expandable into its explanation. From the live
 * config (`GET /admin/config`), `GET /admin/origins`, and the scenario's `/decisions` and `/affinity`.
 */
import type { Candidate, RouterConfigInput } from "../../config/schema";
import { effectiveRouting } from "../../migration/derive";
import { migrationSchema } from "../../migration/schema";
import type { DecisionEntry } from "../../decisions/decision-log";
import type { OriginSnapshot } from "../../health/types";
import { Action, Empty, Num, Section, Val, Head } from "../components";
import { int, ms, pct, time, usd } from "../format";
import { ConsoleError, need, type ListOf, type Page } from "../page";

const ORIGINS = "/admin/origins";

type ScenarioInput = RouterConfigInput["scenarios"][string];
type WindowInput = NonNullable<RouterConfigInput["origins"][string]["windows"]>[number];

interface LiveConfig {
  version: number;
  config: RouterConfigInput;
}

function windowText(w: WindowInput): string {
  const what = w.closed ? "closed" : w.reservedFor ? `reserved for ${w.reservedFor.join(", ")}` : w.capacityMultiplier !== undefined ? `capacity × ${w.capacityMultiplier}` : "window";
  const days = "days" in w && Array.isArray((w as { days?: unknown }).days) ? ` ${(w as { days: string[] }).days.join(",")}` : "";
  return `${what} ${w.from}-${w.to} ${w.timeZone ?? "UTC"}${days}`;
}

function Windows({ windows }: { windows: readonly WindowInput[] | undefined }) {
  if (!windows || windows.length === 0) return <span class="muted">always</span>;
  return (
    <ul class="plain">
      {windows.map((w) => (
        <li>{windowText(w)}</li>
      ))}
    </ul>
  );
}

/**
 * The scenario as it routes now: a migration's stage sets its shadow, canary or first candidate
 * (`src/migration/derive.ts`, as the config's parse does), so the page shows the canary a stage made
 * and its stop and resume. The config as written is what `GET /admin/config` answers.
 */
function routed(s: ScenarioInput): ScenarioInput {
  const migration = s.migration ? migrationSchema.safeParse(s.migration) : null;
  if (!migration?.success) return s;
  const r = effectiveRouting({ candidates: s.candidates as Candidate[], routing: s.routing ?? "scored" }, migration.data);
  return { ...s, candidates: r.candidates, routing: r.routing, canary: r.canary, shadow: r.shadow };
}

function canaryState(snapshot: OriginSnapshot | undefined, name: string) {
  return snapshot?.canaryStops[name] ?? null;
}

export async function scenariosPage(p: Page) {
  const [live, origins] = await Promise.all([p.api.get<LiveConfig>("/admin/config").then(need), p.api.get<ListOf<OriginSnapshot>>(ORIGINS).then(need)]);
  const snapshots = new Map(origins.data.map((o) => [o.origin, o]));
  const scenarios = Object.entries(live.config.scenarios).map(([name, s]) => [name, routed(s)] as const);
  return (
    <>
      <p class="muted">Live config version {live.version}.</p>
      <table id="scenarios">
        <Head cols={["scenario", "endpoint", "routing", "candidates", "canary", "shadow"]} />
        <tbody>
          {scenarios.map(([name, s]) => {
            const stop = s.canary ? canaryState(snapshots.get(s.canary.origin), name) : null;
            return (
              <tr>
                <td>
                  <a href={`/console/scenarios/${name}`}>{name}</a>
                  {s.description && <div class="muted">{s.description}</div>}
                </td>
                <td>{s.endpoint ?? "chat"}</td>
                <td>{s.routing ?? "scored"}</td>
                <td>
                  {s.candidates.map((c, i) => (
                    <>
                      {i > 0 && " → "}
                      <span class="nowrap">{c.origin}</span>
                    </>
                  ))}
                </td>
                <td>
                  {s.canary ? (
                    <>
                      <span class="nowrap">{s.canary.origin}</span> <span class="nowrap">{pct(s.canary.share)}</span> <span class={`badge ${stop ? "state-open" : "state-closed"}`}>{stop ? "stopped" : "running"}</span>
                    </>
                  ) : (
                    <span class="muted">—</span>
                  )}
                </td>
                <td>{s.shadow ? `${s.shadow.origin} ${pct(s.shadow.share)}` : <span class="muted">—</span>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}

interface Affinity {
  policy: string;
  total: { requests: number; hitRate: number; predictedRate: number; precision: number | null };
}

function CanarySection({ p, name, s, snapshot }: { p: Page; name: string; s: ScenarioInput; snapshot: OriginSnapshot | undefined }) {
  const canary = s.canary!;
  const stop = canaryState(snapshot, name);
  const at = `data[origin=${canary.origin}]`;
  const criteria = canary.stop ?? {};
  return (
    <Section title="Canary" id="canary">
      <p>
        <strong>{canary.origin}</strong> ({canary.model}) serves {pct(canary.share)} of the requests first.{" "}
        <span class={`badge ${stop ? "state-open" : "state-closed"}`} id="canary-state">
          {stop ? "stopped" : "running"}
        </span>
        {stop && (
          <span id="canary-reason">
            {" "}
            {stop.reason}, {time(stop.at)}
          </span>
        )}
      </p>
      <table class="figures">
        <Head cols={["stop criterion", "stops above", "now"]} />
        <tbody>
          <tr>
            <th>error rate</th>
            <td>{criteria.errorRate === undefined ? "—" : pct(criteria.errorRate)}</td>
            <td>{snapshot ? <Num value={snapshot.errorRate} format="pct" api={ORIGINS} field={`${at}.errorRate`} /> : "—"}</td>
          </tr>
          <tr>
            <th>TTFT</th>
            <td>{criteria.ttftMs === undefined ? "—" : ms(criteria.ttftMs)}</td>
            <td>{snapshot?.ttftMs ? <Num value={snapshot.ttftMs.mean} format="ms" api={ORIGINS} field={`${at}.ttftMs.mean`} /> : "—"}</td>
          </tr>
          <tr>
            <th>cost per request</th>
            <td>{criteria.costMicrosPerRequest === undefined ? "—" : usd(criteria.costMicrosPerRequest)}</td>
            <td class="muted">per request, at admission</td>
          </tr>
          <tr>
            <th>acceptance below the baseline's</th>
            <td>{criteria.acceptanceDrop === undefined ? "—" : `by ${pct(criteria.acceptanceDrop)}, after ${int(criteria.minRated ?? 20)} judged answers`}</td>
            <td>{snapshot?.outcomes?.[name]?.acceptanceRate != null ? pct(snapshot.outcomes[name]!.acceptanceRate!) : "—"}</td>
          </tr>
          <tr>
            <th>judged after</th>
            <td>{int(criteria.minSamples ?? 20)} samples</td>
            <td>{snapshot ? <Num value={snapshot.samples} format="int" api={ORIGINS} field={`${at}.samples`} /> : "—"}</td>
          </tr>
        </tbody>
      </table>
      {p.session.role === "admin" &&
        (stop ? (
          <Action action={`/console/scenarios/${name}/canary/resume`} csrf={p.csrf} id="canary-resume">
            <button type="submit">Resume the canary</button>
          </Action>
        ) : (
          <Action action={`/console/scenarios/${name}/canary/stop`} csrf={p.csrf} confirm={`Stop the canary of ${name}?`} id="canary-stop">
            <input name="reason" placeholder="why (optional)" maxlength={200} />
            <button type="submit" class="danger">
              Stop the canary
            </button>
          </Action>
        ))}
    </Section>
  );
}

function ShadowSection({ s, decisions, snapshots }: { s: ScenarioInput; decisions: DecisionEntry[]; snapshots: Map<string, OriginSnapshot> }) {
  const shadow = s.shadow!;
  const measured = decisions.filter((d) => d.shadowResult);
  const ok = measured.filter((d) => d.shadowResult!.result === "200");
  const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : null);
  const shadowLatency = mean(ok.map((d) => d.shadowResult!.latencyMs));
  const shadowCost = mean(ok.map((d) => d.shadowResult!.costMicros));
  const primaries = [...new Set(measured.map((d) => d.servedBy).filter((o): o is string => o !== null))];
  return (
    <Section title="Shadow" id="shadow">
      <p>
        {pct(shadow.share)} of requests are copied to <strong>{shadow.origin}</strong> ({shadow.model}); its answers are measured, priced and discarded.
      </p>
      <table class="figures">
        <Head cols={["", "answered", "mean latency", "mean cost"]} />
        <tbody>
          <tr>
            <th>shadow {shadow.origin}</th>
            <td>
              {int(ok.length)} / {int(measured.length)}
            </td>
            <td>{shadowLatency === null ? "—" : ms(shadowLatency)}</td>
            <td>{shadowCost === null ? "—" : usd(shadowCost)}</td>
          </tr>
          {primaries.map((o) => (
            <tr>
              <th>primary {o}</th>
              <td>{int(measured.filter((d) => d.servedBy === o).length)} served</td>
              <td>{snapshots.get(o)?.latencyMs ? `${ms(snapshots.get(o)!.latencyMs!.mean)} (EWMA)` : "—"}</td>
              <td class="muted">in the tenants' usage</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted">From the {int(decisions.length)} most recent decisions logged.</p>
    </Section>
  );
}

function DecisionItem({ d }: { d: DecisionEntry }) {
  const e = d.explanation;
  return (
    <details class="decision">
      <summary>
        {time(d.at)} · served by <strong>{d.servedBy ?? "none"}</strong> · {e.priority} · placement {e.placement.kind}
        {e.canary ? ` · canary ${e.canary}` : ""}
        {d.shadowResult ? ` · shadow ${d.shadowResult.result} in ${ms(d.shadowResult.latencyMs)}` : ""}
      </summary>
      <p class="muted">
        {d.requestId}; attempts {d.attempts.map((a) => `${a.origin} (${a.model})`).join(" → ") || "none"}; budget pressure {pct(e.budgetPressure)}
        {e.waitReason ? `; wait: ${e.waitReason}` : ""}
      </p>
      <table>
        <Head cols={["candidate", "role", "verdict", "TTFT", "CV", "error rate", "load", "cached", "price", "score"]} />
        <tbody>
          {e.candidates.map((c) => (
            <tr>
              <td>
                {c.origin} <span class="muted">{c.model}</span>
              </td>
              <td>{c.role}</td>
              <td>{c.excluded ? `excluded: ${c.excluded.rule} (${c.excluded.detail})` : c.demoted ? `demoted: ${c.demoted}` : "kept"}</td>
              <td>{c.terms ? `${ms(c.terms.ttftMs)} (${c.terms.ttftSource})` : "—"}</td>
              <td>{c.terms ? c.terms.cv.toFixed(2) : "—"}</td>
              <td>{c.terms ? pct(c.terms.errorRate) : "—"}</td>
              <td>{c.terms?.load != null ? pct(c.terms.load) : "—"}</td>
              <td>{c.terms ? int(c.terms.cachedTokens) : "—"}</td>
              <td>{c.terms ? usd(c.terms.priceMicros) : "—"}</td>
              <td>{c.terms ? c.terms.score.toFixed(3) : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

export async function scenarioPage(p: Page, name: string) {
  const live = need(await p.api.get<LiveConfig>("/admin/config"));
  const s = Object.hasOwn(live.config.scenarios, name) ? routed(live.config.scenarios[name]!) : null;
  if (!s) throw new ConsoleError(404, `No scenario '${name.slice(0, 64)}' in the live config.`);
  const base = `/admin/scenarios/${encodeURIComponent(name)}`;
  const [origins, decisions, affinity] = await Promise.all([
    p.api.get<ListOf<OriginSnapshot>>(ORIGINS).then(need),
    p.api.get<ListOf<DecisionEntry>>(`${base}/decisions?limit=30`).then(need),
    p.api.get<Affinity>(`${base}/affinity`).then(need),
  ]);
  const snapshots = new Map(origins.data.map((o) => [o.origin, o]));
  return (
    <>
      {s.description && <p>{s.description}</p>}
      {s.migration && (
        <p id="migration">
          Migrating to <strong>{s.migration.candidate.origin}</strong> ({s.migration.candidate.model}): stage <span class="badge">{s.migration.stage}</span>, owner {s.migration.owner}. Its figures and moves:{" "}
          <code>/admin/scenarios/{name}/migration</code>.
        </p>
      )}
      <Section title="Candidates" id="candidates">
        <p class="muted">
          Routing {s.routing ?? "scored"}; endpoint {s.endpoint ?? "chat"}; output cap {int(s.maxOutputTokens ?? 4096)} tokens{s.slo ? `; SLO TTFT ${ms(s.slo.ttftMs)}` : ""}
          {s.degrade ? `; past a soft limit: ${s.degrade.join(", ")}` : ""}.
        </p>
        <table>
          <Head cols={["origin", "model", "its windows", "origin's windows", "circuit", "TTFT (EWMA)"]} />
          <tbody>
            {s.candidates.map((c) => {
              const o = snapshots.get(c.origin);
              return (
                <tr>
                  <td>
                    <a href={`/console/origins#origin-${c.origin}`}>{c.origin}</a>
                  </td>
                  <td>{c.model}</td>
                  <td>
                    <Windows windows={c.windows} />
                  </td>
                  <td>
                    <Windows windows={live.config.origins[c.origin]?.windows} />
                  </td>
                  <td>{o ? <Val value={o.circuit.state} api={ORIGINS} field={`data[origin=${c.origin}].circuit.state`} class={`badge state-${o.circuit.state}`} /> : "—"}</td>
                  <td>{o?.ttftMs ? ms(o.ttftMs.mean) : "—"}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </Section>
      {s.canary ? <CanarySection p={p} name={name} s={s} snapshot={snapshots.get(s.canary.origin)} /> : null}
      {s.shadow ? <ShadowSection s={s} decisions={decisions.data} snapshots={snapshots} /> : null}
      <Section title="Prefix-cache affinity" id="affinity">
        <p>
          Policy {affinity.policy}: {int(affinity.total.requests)} requests reported, hit rate {pct(affinity.total.hitRate)} reported against {pct(affinity.total.predictedRate)} predicted
          {affinity.total.precision === null ? "" : `, precision ${pct(affinity.total.precision)}`}.
        </p>
      </Section>
      <Section title="Recent decisions" id="decisions">
        {decisions.data.length === 0 ? <Empty text="No decision logged yet: explained and shadowed requests are, and about one a second otherwise." /> : decisions.data.map((d) => <DecisionItem d={d} />)}
      </Section>
    </>
  );
}
