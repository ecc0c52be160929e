/**
 * What changed between two configs, as written (JSON), one entry per JSON path that differs.
 * Objects are compared key by key, arrays index by index (a candidate inserted at the front shows
 * as every later one changed: the order of candidates is itself routing).
 */
import { formatPath } from "../lib/zod-path";
import { isRecord } from "../lib/checks";

export interface ConfigChange {
  path: string;
  op: "added" | "removed" | "changed";
  from?: unknown;
  to?: unknown;
}

/**
 * @example
 * diffConfigs({ scenarios: { s: { canary: { share: 0.05 } } } }, { scenarios: { s: { canary: { share: 0.2 } } } })
 * // [{ path: "scenarios.s.canary.share", op: "changed", from: 0.05, to: 0.2 }]
 */
export function diffConfigs(from: unknown, to: unknown): ConfigChange[] {
  const changes: ConfigChange[] = [];
  walk(from, to, [], changes);
  return changes;
}

function walk(a: unknown, b: unknown, path: PropertyKey[], out: ConfigChange[]): void {
  if (isRecord(a) && isRecord(b)) {
    for (const key of Object.keys(a)) {
      if (!Object.hasOwn(b, key)) out.push({ path: formatPath([...path, key]), op: "removed", from: a[key] });
      else walk(a[key], b[key], [...path, key], out);
    }
    for (const key of Object.keys(b)) if (!Object.hasOwn(a, key)) out.push({ path: formatPath([...path, key]), op: "added", to: b[key] });
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const shared = Math.min(a.length, b.length);
    for (let i = 0; i < shared; i++) walk(a[i], b[i], [...path, i], out);
    for (let i = shared; i < a.length; i++) out.push({ path: formatPath([...path, i]), op: "removed", from: a[i] });
    for (let i = shared; i < b.length; i++) out.push({ path: formatPath([...path, i]), op: "added", to: b[i] });
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ path: formatPath(path) || "(root)", op: "changed", from: a, to: b });
}
