/**
 * Tenants: the list (search, pages, 30-day usage), and one tenant: its state and limits, budgets
 * as bars (settled, reserved, remaining), keys (create, revoke, rotate, limits), usage by day,
 * model and origin over 30 days, recent requests, and the CSV export. A tenant's own session sees
 * its own page without the forms. From `/admin/tenants...` and `GET /admin/usage/summary`.
 */
import type { DirectoryEntry } from "../../directory/tenant-directory";
import type { ApiKeyInfo, BudgetStatus, RateLimits, Tenant, UsageRecord } from "../../ledger/types";
import { Action, BarChart, costPerDay, Empty, Num, Section, StackedBar, Head } from "../components";
import { int, ms, time, usd } from "../format";
import { need, query, type CrossTenantSummary, type ListOf, type Page, type UsageRow } from "../page";

const DAY_MS = 86_400_000;
const USAGE_DAYS = 30;

interface TenantList extends ListOf<DirectoryEntry> {
  has_more: boolean;
  next_after: string | null;
}

export async function tenantsPage(p: Page, q: { search?: string; after?: string }) {
  const list = `/admin/tenants${query({ limit: 50, search: q.search, after: q.after })}`;
  const usagePath = `/admin/usage/summary${query({ from: p.now - USAGE_DAYS * DAY_MS, to: p.now + 1, group_by: "tenant" })}`;
  const [tenants, usage] = await Promise.all([p.api.get<TenantList>(list).then(need), p.api.get<CrossTenantSummary>(usagePath).then(need)]);
  const byTenant = new Map(usage.data.map((r) => [r.group, r]));
  return (
    <>
      <form method="get" action="/console/tenants" class="search">
        <input type="search" name="search" value={q.search ?? ""} placeholder="id or name" maxlength={64} aria-label="search tenants" />
        <button type="submit">Search</button>
      </form>
      {tenants.data.length === 0 ? (
        <Empty text={q.search ? "No tenant matches." : "No tenant yet."} />
      ) : (
        <table id="tenants">
          <Head cols={["tenant", "name", "state", "created", "requests, 30 d", "cost, 30 d"]} />
          <tbody>
            {tenants.data.map((t) => {
              const u = byTenant.get(t.id);
              const at = `data[group=${t.id}]`;
              return (
                <tr>
                  <td>
                    <a href={`/console/tenants/${t.id}`}>{t.id}</a>
                  </td>
                  <td>{t.name}</td>
                  <td>{t.disabled ? <span class="badge state-open">disabled</span> : <span class="badge state-closed">enabled</span>}</td>
                  <td>{time(t.createdAt)}</td>
                  <td>{u ? <Num value={u.requests} format="int" api={usagePath} field={`${at}.requests`} /> : "0"}</td>
                  <td>{u ? <Num value={u.costMicros} format="usd" api={usagePath} field={`${at}.costMicros`} /> : usd(0)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {tenants.has_more && tenants.next_after && (
        <p>
          <a href={`/console/tenants${query({ search: q.search, after: tenants.next_after })}`}>Next page →</a>
        </p>
      )}
      {p.session.role === "admin" && (
        <Section title="New tenant" id="new-tenant">
          <Action action="/console/tenants" csrf={p.csrf} class="form-grid" id="create-tenant">
            <label>
              id <input name="id" required pattern="[a-z0-9][a-z0-9_]{0,39}" maxlength={40} placeholder="acme" />
            </label>
            <label>
              name <input name="name" maxlength={200} placeholder="Acme Corp." />
            </label>
            <button type="submit">Create</button>
          </Action>
        </Section>
      )}
    </>
  );
}

/** A secret shown once, after a key was made or rotated. */
export interface NewSecret {
  keyId: string;
  secret: string;
  what: "created" | "rotated";
}

function limitsText(l: RateLimits): string {
  const part = (v: number | null, unit: string) => (v === null ? null : `${int(v)} ${unit}`);
  return [part(l.rpm, "req/min"), part(l.tpm, "tokens/min"), part(l.concurrency, "at once")].filter(Boolean).join(", ") || "unlimited";
}

function keyState(k: ApiKeyInfo, now: number): string {
  if (k.revokedAt !== null) return "revoked";
  if (k.expiresAt !== null && k.expiresAt <= now) return "expired";
  return "live";
}

function LimitsForm({ action, csrf, limits, id }: { action: string; csrf: string; limits: RateLimits; id: string }) {
  return (
    <Action action={action} csrf={csrf} class="form-grid" id={id}>
      <label>
        requests/min <input name="rpm" type="number" min={1} value={limits.rpm ?? ""} placeholder="unlimited" />
      </label>
      <label>
        tokens/min <input name="tpm" type="number" min={1} value={limits.tpm ?? ""} placeholder="unlimited" />
      </label>
      <label>
        at once <input name="concurrency" type="number" min={1} value={limits.concurrency ?? ""} placeholder="unlimited" />
      </label>
      <button type="submit">Set limits</button>
    </Action>
  );
}

function BudgetRow({ b, api, keys }: { b: BudgetStatus; api: string; keys: Map<string, ApiKeyInfo> }) {
  const at = `data[id=${b.id}]`;
  const format = b.metric === "cost" ? "usd" : "int";
  const fmt = (v: number) => (b.metric === "cost" ? usd(v) : `${int(v)} tokens`);
  return (
    <div class="budget" id={`budget-${b.id}`}>
      <div class="budget-head">
        <strong>
          {b.period === "total" ? "total" : `per ${b.period}`} {b.metric}
        </strong>{" "}
        {b.keyId ? `for key ${keys.get(b.keyId)?.name ?? b.keyId}` : "for the tenant"} · period {b.periodKey}
        {b.resetsAt !== null ? `, resets ${time(b.resetsAt)}` : ""}
        {b.softLimitReached && <span class="badge state-half_open">past its soft limit</span>}
      </div>
      <StackedBar
        label={`budget ${b.id}`}
        total={b.limit}
        parts={[
          { value: b.settled, class: "used", tip: `used ${fmt(b.settled)}` },
          { value: b.reserved, class: "reserved", tip: `reserved ${fmt(b.reserved)}` },
        ]}
      />
      <div class="legend">
        <span class="swatch used"></span> used <Num value={b.settled} format={format} api={api} field={`${at}.settled`} /> <span class="swatch reserved"></span> reserved{" "}
        <Num value={b.reserved} format={format} api={api} field={`${at}.reserved`} /> <span class="swatch remaining"></span> remaining{" "}
        <Num value={b.remaining} format={format} api={api} field={`${at}.remaining`} /> of <Num value={b.limit} format={format} api={api} field={`${at}.limit`} />
        {b.softLimit !== null ? ` (soft ${fmt(b.softLimit)})` : ""}
      </div>
    </div>
  );
}

/** The usage table's columns: label, field of the answer's rows, format. */
const USAGE_COLUMNS = [
  ["requests", "requests", "int"],
  ["prompt", "promptTokens", "int"],
  ["cached", "cachedTokens", "int"],
  ["completion", "completionTokens", "int"],
  ["cost", "costMicros", "usd"],
] as const;

function UsageChart({ rows, api, by, now }: { rows: UsageRow[]; api: string; by: string; now: number }) {
  if (rows.length === 0) return <Empty text="No usage in the last 30 days." />;
  const bars = by === "day" ? costPerDay(rows, now, USAGE_DAYS) : rows.map((r) => ({ label: r.group || "none", value: r.costMicros, tip: `${r.group || "none"}: ${usd(r.costMicros)}, ${int(r.requests)} requests` }));
  return (
    <>
      <BarChart label={`cost by ${by}`} format="usd" bars={bars} />
      <table class="compact">
        <Head cols={[by, ...USAGE_COLUMNS.map(([label]) => label)]} />
        <tbody>
          {rows.map((r) => (
            <tr>
              <td>{r.group || "none"}</td>
              {USAGE_COLUMNS.map(([, field, format]) => (
                <td>
                  <Num value={r[field]} format={format} api={api} field={`data[group=${r.group}].${field}`} />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export const USAGE_GROUPS_SHOWN = ["day", "model", "origin"] as const;

export async function tenantPage(p: Page, tenantId: string, shown: { group: (typeof USAGE_GROUPS_SHOWN)[number]; secret?: NewSecret | null }) {
  const base = `/admin/tenants/${tenantId}`;
  const from = p.now - USAGE_DAYS * DAY_MS;
  const summary = (group: string) => `${base}/usage/summary${query({ from, to: p.now + 1, group_by: group })}`;
  const paths = { budgets: `${base}/budgets`, keys: `${base}/keys`, byGroup: summary(shown.group), byKey: summary("key"), recent: `${base}/usage?limit=20` };
  const [tenant, keys, budgets, byGroup, byKey, recent] = await Promise.all([
    p.api.get<Tenant>(base).then(need),
    p.api.get<ListOf<ApiKeyInfo>>(paths.keys).then(need),
    p.api.get<ListOf<BudgetStatus>>(paths.budgets).then(need),
    p.api.get<ListOf<UsageRow>>(paths.byGroup).then(need),
    p.api.get<ListOf<UsageRow>>(paths.byKey).then(need),
    p.api.get<ListOf<UsageRecord>>(paths.recent).then(need),
  ]);
  const admin = p.session.role === "admin";
  const keyById = new Map(keys.data.map((k) => [k.id, k]));
  const keyUsage = new Map(byKey.data.map((r) => [r.group, r]));
  const action = (path: string) => `/console/tenants/${tenantId}${path}`;
  return (
    <>
      <p class="muted">
        {tenant.name} · {tenant.disabled ? <span class="badge state-open">disabled</span> : <span class="badge state-closed">enabled</span>} · created {time(tenant.createdAt)} · budgets reset at midnight {tenant.timeZone} · usage kept {int(tenant.retentionDays)} days
        {tenant.policy.allowedModels ? ` · models: ${tenant.policy.allowedModels.join(", ")}` : ""}
      </p>
      {shown.secret && (
        <div class="secret" id="new-secret" role="status">
          <p>
            Key <code>{shown.secret.keyId}</code> {shown.secret.what}. Its secret is shown this once:
          </p>
          <code id="secret-value">{shown.secret.secret}</code> <button type="button" data-copy="secret-value">Copy</button>
        </div>
      )}
      <Section title="Limits" id="limits">
        <p>
          Tenant: <span id="tenant-limits">{limitsText(tenant.limits)}</span>
        </p>
        {admin && <LimitsForm action={action("/limits")} csrf={p.csrf} limits={tenant.limits} id="tenant-limits-form" />}
        {admin && (
          <div class="actions">
            {tenant.disabled ? (
              <Action action={action("/enable")} csrf={p.csrf} id="enable-tenant">
                <button type="submit">Enable the tenant</button>
              </Action>
            ) : (
              <Action action={action("/disable")} csrf={p.csrf} confirm={`Disable ${tenantId}? Its keys are refused within a lease window.`} id="disable-tenant">
                <button type="submit" class="danger">
                  Disable the tenant
                </button>
              </Action>
            )}
          </div>
        )}
      </Section>
      <Section title="Budgets" id="budgets">
        {budgets.data.length === 0 ? <Empty text="No budget: spending is limited by rate limits alone." /> : budgets.data.map((b) => <BudgetRow b={b} api={paths.budgets} keys={keyById} />)}
        {admin && (
          <Action action={action("/budgets")} csrf={p.csrf} class="form-grid" id="add-budget">
            <label>
              metric
              <select name="metric">
                <option value="cost">cost (USD)</option>
                <option value="tokens">tokens</option>
              </select>
            </label>
            <label>
              period
              <select name="period">
                <option value="month">month</option>
                <option value="day">day</option>
                <option value="total">total</option>
              </select>
            </label>
            <label>
              limit <input name="limit" required inputmode="decimal" placeholder="25.00" />
            </label>
            <label>
              soft limit <input name="softLimit" inputmode="decimal" placeholder="optional" />
            </label>
            <label>
              key
              <select name="key">
                <option value="">whole tenant</option>
                {keys.data
                  .filter((k) => k.revokedAt === null)
                  .map((k) => (
                    <option value={k.id}>
                      {k.name} ({k.hint})
                    </option>
                  ))}
              </select>
            </label>
            <button type="submit">Add budget</button>
          </Action>
        )}
      </Section>
      <Section title="Keys" id="keys">
        {keys.data.length === 0 ? (
          <Empty text="No key yet." />
        ) : (
          <table id="key-table">
            <Head cols={["key", "name", "state", "created", "expires", "limits", "requests, 30 d", "cost, 30 d", ...(admin ? [""] : [])]} />
            <tbody>
              {keys.data.map((k) => {
                const state = keyState(k, p.now);
                const u = keyUsage.get(k.id);
                return (
                  <tr id={`key-${k.id}`} data-key-state={state}>
                    <td>
                      <code>{k.hint}</code>
                      <div class="muted">{k.id}</div>
                      {k.previous && <div class="muted">previous {k.previous.hint} until {time(k.previous.expiresAt)}</div>}
                    </td>
                    <td>{k.name}</td>
                    <td>
                      <span class={`badge key-${state}`}>{state}</span>
                    </td>
                    <td>{time(k.createdAt)}</td>
                    <td>{k.expiresAt === null ? "never" : time(k.expiresAt)}</td>
                    <td>{limitsText(k.limits)}</td>
                    <td>{u ? <Num value={u.requests} format="int" api={paths.byKey} field={`data[group=${k.id}].requests`} /> : "0"}</td>
                    <td>{u ? <Num value={u.costMicros} format="usd" api={paths.byKey} field={`data[group=${k.id}].costMicros`} /> : usd(0)}</td>
                    {admin && (
                      <td class="actions">
                        {state === "live" && (
                          <>
                            <Action action={action(`/keys/${k.id}/rotate`)} csrf={p.csrf} confirm={`Rotate ${k.name}? The old secret works for the grace period.`}>
                              <select name="graceSeconds" aria-label="grace">
                                <option value="86400">grace 1 day</option>
                                <option value="3600">grace 1 hour</option>
                                <option value="0">no grace</option>
                              </select>
                              <button type="submit">Rotate</button>
                            </Action>
                            <Action action={action(`/keys/${k.id}/revoke`)} csrf={p.csrf} confirm={`Revoke ${k.name}? Requests with it are refused within a lease window.`}>
                              <button type="submit" class="danger" data-revoke={k.id}>
                                Revoke
                              </button>
                            </Action>
                          </>
                        )}
                      </td>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        {admin && (
          <Action action={action("/keys")} csrf={p.csrf} class="form-grid" id="create-key">
            <label>
              name <input name="name" maxlength={200} placeholder="production" />
            </label>
            <label>
              expires in days <input name="expiresInDays" type="number" min={1} max={3650} placeholder="never" />
            </label>
            <label>
              requests/min <input name="rpm" type="number" min={1} placeholder="unlimited" />
            </label>
            <label>
              tokens/min <input name="tpm" type="number" min={1} placeholder="unlimited" />
            </label>
            <button type="submit">Create key</button>
          </Action>
        )}
      </Section>
      <Section title={`Usage, last ${USAGE_DAYS} days`} id="usage" aside={<a href={`/console/tenants/${tenantId}/usage.csv`} class="button" id="export-csv" download="">Export CSV</a>}>
        <nav class="tabs">
          by:{" "}
          {USAGE_GROUPS_SHOWN.map((g) => (
            <a href={`/console/tenants/${tenantId}?by=${g}#usage`} class={g === shown.group ? "active" : ""}>
              {g}
            </a>
          ))}
        </nav>
        <UsageChart rows={byGroup.data} api={paths.byGroup} by={shown.group} now={p.now} />
      </Section>
      <Section title="Recent requests" id="recent">
        {recent.data.length === 0 ? (
          <Empty text="No request yet." />
        ) : (
          <table class="compact">
            <Head cols={["when", "key", "scenario", "origin", "status", "tokens in / cached / out", "cost", "latency"]} />
            <tbody>
              {recent.data.map((r) => (
                <tr>
                  <td>{time(r.at)}</td>
                  <td>{keyById.get(r.keyId)?.name ?? r.keyId}</td>
                  <td>{r.scenario}</td>
                  <td>{r.origin ?? "—"}</td>
                  <td>
                    {r.status} {r.outcome === "ok" ? "" : r.outcome}
                  </td>
                  <td>
                    {int(r.promptTokens)} / {int(r.cachedTokens)} / {int(r.completionTokens)}
                  </td>
                  <td>
                    <Num value={r.costMicros} format="usd" api={paths.recent} field={`data[requestId=${r.requestId}].costMicros`} />
                  </td>
                  <td>{ms(r.latencyMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}
