/**
 * A record's own entry, never one inherited from `Object.prototype`: config names such as origins
 * and scenarios may legally be "constructor" or "toString", and `record[name]` would then find a
 * function instead of nothing.
 * @example
 * ownEntry({ a: 1 }, "a")           // 1
 * ownEntry({ a: 1 }, "constructor") // undefined
 */
export function ownEntry<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
