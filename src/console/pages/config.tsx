/**
 * Config: the live version and the config it runs, every version (who, when, why), the diff
 * between any two, and rollback to one (a new version restoring it). From `/admin/config...`.
 */
import type { VersionSummary } from "../../config/config-store";
import type { ConfigChange } from "../../config/diff";
import { Action, Empty, Head, Section } from "../components";
import { time } from "../format";
import { need, query, type ListOf, type Page } from "../page";

interface LiveVersion extends VersionSummary {
  config: unknown;
  running: number;
}

interface Diff {
  from: number;
  to: number;
  changes: ConfigChange[];
}

function show(value: unknown): string {
  return value === undefined ? "—" : JSON.stringify(value);
}

/** A version picker of the diff form (the form submits when it changes). */
function VersionSelect({ name, numbers, selected }: { name: "from" | "to"; numbers: number[]; selected: number }) {
  return (
    <label>
      {name}
      <select name={name} data-autosubmit="">
        {numbers.map((n) => (
          <option value={String(n)} selected={n === selected}>
            {n}
          </option>
        ))}
      </select>
    </label>
  );
}

export async function configPage(p: Page, q: { from?: number; to?: number }) {
  const diffOf = (from: number, to: number) => (from === to ? Promise.resolve(null) : p.api.get<Diff>(`/admin/config/diff${query({ from, to })}`).then(need));
  // Both versions named: the diff is asked with the rest; otherwise it compares with the live one, once known.
  const asked = q.from !== undefined && q.to !== undefined ? diffOf(q.from, q.to) : null;
  const [live, versions] = await Promise.all([p.api.get<LiveVersion>("/admin/config").then(need), p.api.get<ListOf<VersionSummary> & { has_more: boolean }>("/admin/config/versions?limit=100").then(need)]);
  const to = q.to ?? live.version;
  const from = q.from ?? Math.max(1, to - 1);
  const diff = await (asked ?? diffOf(from, to));
  const numbers = versions.data.map((v) => v.version);
  return (
    <>
      <p>
        Live version <strong id="live-version">{live.version}</strong>, set {time(live.createdAt)} by {live.author}
        {live.message ? `: “${live.message}”` : ""}. This isolate runs version {live.running}.
      </p>
      <Section title="Versions" id="versions">
        <table>
          <Head cols={["version", "when", "by", "source", "message", ...(p.session.role === "admin" ? [""] : [])]} />
          <tbody>
            {versions.data.map((v) => (
              <tr id={`version-${v.version}`}>
                <td>
                  {v.version}
                  {v.version === live.version && <span class="badge state-closed">live</span>}
                </td>
                <td>{time(v.createdAt)}</td>
                <td>{v.author}</td>
                <td>
                  {v.source}
                  {v.rollbackOf ? ` of ${v.rollbackOf}` : ""}
                </td>
                <td>{v.message}</td>
                {p.session.role === "admin" && (
                  <td>
                    {v.version !== live.version && (
                      <Action action="/console/config/rollback" csrf={p.csrf} confirm={`Roll back to version ${v.version}? A new version restores its config.`}>
                        <input type="hidden" name="version" value={String(v.version)} />
                        <button type="submit">Roll back to {v.version}</button>
                      </Action>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section title="Diff" id="diff">
        <form method="get" action="/console/config" class="form-grid">
          <VersionSelect name="from" numbers={numbers} selected={from} />
          <VersionSelect name="to" numbers={numbers} selected={to} />
          <button type="submit">Compare</button>
        </form>
        {diff === null ? (
          <Empty text="Pick two different versions." />
        ) : diff.changes.length === 0 ? (
          <Empty text={`Versions ${from} and ${to} hold the same config.`} />
        ) : (
          <table class="diff" id="diff-table">
            <Head cols={["change", "path", `version ${from}`, `version ${to}`]} />
            <tbody>
              {diff.changes.map((ch) => (
                <tr class={`op-${ch.op}`}>
                  <td>{ch.op}</td>
                  <td>
                    <code>{ch.path}</code>
                  </td>
                  <td>
                    <code>{show(ch.op === "added" ? undefined : ch.from)}</code>
                  </td>
                  <td>
                    <code>{show(ch.op === "removed" ? undefined : ch.to)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title={`The config of version ${live.version}`} id="live-config">
        <details>
          <summary>Show it</summary>
          <pre>{JSON.stringify(live.config, null, 2)}</pre>
        </details>
      </Section>
    </>
  );
}
