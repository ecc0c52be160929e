/**
 * Hono's router, with its answers for a few fixed paths kept. Hono matches every request's method
 * and path against the route tree anew (its trie router here: the RegExpRouter refuses this app's
 * routes, a static `/v1/usage/summary` beside `/v1/usage/:request_id`), about 1% of a proxied
 * request's CPU. The proxied endpoints are a handful of static paths whose answer never changes
 * once the routes are added, so theirs is kept; every other path is matched as before. Only the
 * keys given are kept, so a client cannot grow the memo with paths of its own.
 */
import type { Result, Router } from "hono/router";

export class MemoRouter<T> implements Router<T> {
  readonly name: string;
  private readonly memo = new Map<string, Result<T>>();

  /** `keys`: `METHOD /path` pairs whose answer is kept. */
  constructor(
    private readonly inner: Router<T>,
    private readonly keys: ReadonlySet<string>,
  ) {
    this.name = `MemoRouter(${inner.name})`;
  }

  add(method: string, path: string, handler: T): void {
    this.memo.clear();
    this.inner.add(method, path, handler);
  }

  match(method: string, path: string): Result<T> {
    const key = `${method} ${path}`;
    if (!this.keys.has(key)) return this.inner.match(method, path);
    let result = this.memo.get(key);
    if (result === undefined) {
      result = this.inner.match(method, path);
      this.memo.set(key, result);
    }
    return result;
  }
}
