/** The decision report as Markdown: the same figures as the JSON, each with its source. Pure. */
import type { DecisionReport, Figure } from "./decision";

const usd = (micros: number | null) => (micros === null ? "n/a" : `$${(micros / 1_000_000).toFixed(2)}`);
const pct = (x: number | null) => (x === null ? "n/a" : `${(x * 100).toFixed(1)} %`);
const fig = (f: Figure<number | null>, show: (x: number | null) => string = (x) => (x === null ? "n/a" : String(x))) => `${show(f.value)} _(${f.source})_`;
const cell = (x: string | number | null) => (x === null ? "n/a" : String(x).replace(/\|/g, "\\|"));

export function reportMarkdown(r: DecisionReport): string {
  const lines: string[] = [];
  lines.push(`# Decision report: ${r.scenario}`, "");
  lines.push(`Window: ${new Date(r.window.from).toISOString()} to ${new Date(r.window.to).toISOString()} (${r.window.hours} h); tenants scanned: ${r.tenants.scanned}${r.tenants.truncated ? " (truncated)" : ""}.`, "");
  lines.push("## Recommendation", "");
  const rec = r.recommendation;
  const share = rec.choice === "hybrid" && rec.poolShare !== null ? ` (pool share ${pct(rec.poolShare)})` : rec.choice === "batch-deferred" && rec.deferredShare !== null ? ` (deferred share ${pct(rec.deferredShare)})` : "";
  lines.push(`**${rec.choice}**${share}`, "");
  for (const reason of r.recommendation.reasons) lines.push(`- ${reason}`);
  lines.push("", "## Data boundary _(configured)_", "");
  for (const o of r.dataBoundary.origins) lines.push(`- ${o.origin}: ${o.kind}${o.region ? `, ${o.region}` : ""}`);
  lines.push("", "## Demand", "");
  lines.push(`- requests: ${fig(r.demand.requests)}`);
  lines.push(`- mean per hour: ${fig(r.demand.meanPerHour)}; peak hour: ${fig(r.demand.peakPerHour)}; peak to mean: ${fig(r.demand.peakToMean)}`);
  lines.push(`- monthly requests: ${fig(r.demand.monthlyRequests)}`);
  lines.push(`- by hour of day (UTC) _(measured)_: ${r.demand.hourOfDay.value.join(" ")}`);
  lines.push("", "## Origins _(measured)_", "");
  lines.push("| origin | kind | requests | error rate | per 1k requests | accepted | rejected | unrated | acceptance | gates passed | per accepted | cache hit rate | cache TTL s | latency mean ms (CV) |");
  lines.push("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const o of r.origins) {
    lines.push(
      `| ${cell(o.origin)} | ${o.kind} | ${o.requests} | ${pct(o.errorRate)} | ${usd(o.costPer1kRequestsMicros)} | ${o.accepted} | ${o.rejected} | ${o.unrated} | ${pct(o.acceptanceRate)} | ${pct(o.gatePassRate)} | ${usd(o.costPerAcceptedMicros)} | ${pct(o.cacheHitRate)} | ${o.cache?.ttlSeconds ?? "n/a"} | ${o.latencyMs ? `${o.latencyMs.mean} (${o.latencyMs.cv ?? "n/a"})` : "n/a"} |`,
    );
  }
  const ec = r.expectedCache;
  lines.push("", "## Expected cache, re-estimated per origin", "");
  lines.push(`- prompt tokens per request: ${fig(ec.promptTokensPerRequest)}; repeated prefix share: ${fig(ec.repeatedPrefixShare, pct)}${ec.repeatedPrefixFrom ? ` (measured on ${ec.repeatedPrefixFrom})` : ""}`, "");
  lines.push("| origin | TTL s _(configured)_ | min / step tokens _(configured)_ | cached-input price ratio _(configured)_ | arrivals within TTL _(measured)_ | hit rate _(measured)_ | expected hit rate _(estimated)_ |");
  lines.push("|---|---|---|---|---|---|---|");
  for (const o of ec.origins) {
    lines.push(`| ${cell(o.origin)} | ${o.ttlSeconds.value} | ${o.minTokens.value} / ${o.stepTokens.value} | ${cell(o.cachedInputPriceRatio.value)} | ${pct(o.arrivalsWithinTtl.value)} | ${pct(o.measuredHitRate.value)} | ${pct(o.expectedHitRate.value)} |`);
  }
  lines.push("", "## Pool", "");
  if (!r.pool) lines.push("No self-hosted origin of this scenario declares `economics` (fixedUsdPerHour, requestsPerHour).");
  else {
    lines.push(`- origin: ${r.pool.origin}`);
    lines.push(`- fixed cost per unit-hour: ${fig(r.pool.fixedUsdPerHour, (x) => `$${x}`)}; throughput per unit: ${fig(r.pool.requestsPerHour)} requests/h`);
    lines.push(`- utilisation of one unit at mean demand: ${fig(r.pool.utilisationAtMean, pct)}; units for the peak with reserve and staging: ${fig(r.pool.unitsForPeak)}`);
    lines.push(`- cost per request: ${fig(r.pool.costPerRequestMicros, (x) => `${x} µ$`)}`);
  }
  lines.push("", "## Options, per month", "");
  lines.push(`- MaaS: ${fig(r.options.maas, usd)}`);
  lines.push(`- self-hosted: ${fig(r.options.selfHosted, usd)}`);
  const h = r.options.hybrid.value;
  lines.push(`- hybrid: ${h ? `${usd(h.monthlyMicros)}, pool share ${pct(h.share)}` : "n/a"} _(${r.options.hybrid.source})_`);
  lines.push(`- break-even: ${fig(r.options.breakEvenRequestsPerMonth)} requests a month`);
  const d = r.options.deferred.value;
  lines.push(`- batch/deferred: ${d ? `${usd(d.monthlyMicros)}, ${pct(d.share)} deferred _(${d.shareSource})_ at ${pct(d.priceRatio)} of the price (${d.via})` : "n/a"} _(${r.options.deferred.source})_`);
  const st = r.options.settings.value;
  lines.push(`- settings _(configured)_: overhead $${st.overheadUsdPerMonth}/month, peak reserve ${pct(st.peakReserve)}, staging share ${pct(st.stagingShare)}, minimum ${st.minRequests} requests and ${st.minRated} rated answers, deferrable share ${pct(st.deferrableShare)}`);
  lines.push("");
  return lines.join("\n");
}
