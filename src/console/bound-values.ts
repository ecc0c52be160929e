/**
 * Reading a console number's binding (`src/console/components.tsx`, `Num`): the field of an API
 * answer it shows. A field is a path, `total.costMicros`, `data[group=acme].requests`,
 * `data[origin=pool].prefixCache[chat.v2].hitRate` (`[k=v]`: the array's element whose `k` is `v`;
 * `[name]`: a property whose name may hold dots), or two paths joined by `+` or `/` (a sum, a
 * ratio that is 0 when its denominator is). Pure: used by the browser test and the Worker tests.
 */

/** The value at one path, or undefined when the path leads nowhere. */
export function valueAt(root: unknown, path: string): unknown {
  let current: unknown = root;
  const tokens = path.match(/[^.[\]]+|\[[^\]]*\]/g) ?? [];
  for (const token of tokens) {
    if (current === null || typeof current !== "object") return undefined;
    if (token.startsWith("[")) {
      const inner = token.slice(1, -1);
      const eq = inner.indexOf("=");
      if (eq < 0) {
        current = (current as Record<string, unknown>)[inner];
      } else {
        const [k, v] = [inner.slice(0, eq), inner.slice(eq + 1)];
        current = Array.isArray(current) ? current.find((item) => item && typeof item === "object" && String((item as Record<string, unknown>)[k]) === v) : undefined;
      }
    } else {
      current = (current as Record<string, unknown>)[token];
    }
  }
  return current;
}

/** The value a binding's field names in an API answer (see the module comment). */
export function fieldValue(answer: unknown, field: string): unknown {
  const op = /^(.+?)([+/])(.+)$/.exec(field);
  if (!op) return valueAt(answer, field);
  const [a, b] = [Number(valueAt(answer, op[1]!)), Number(valueAt(answer, op[3]!))];
  if (op[2] === "+") return a + b;
  return b === 0 ? 0 : a / b;
}

/** Whether a shown raw value (`data-value`) is the API's value. */
export function sameValue(shown: string, api: unknown): boolean {
  if (typeof api === "number") return Number(shown) === api;
  return shown === String(api);
}
