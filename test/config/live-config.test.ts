/**
 * The ConfigStore (its real object) and isolates picking up its versions (`LiveConfig`, with an
 * injected clock): two LiveConfigs on one store are two isolates.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ConfigStore } from "../../src/config/config-store";
import { LiveConfig, type ConfigStoreApi } from "../../src/config/live";
import { parseRouterConfig } from "../../src/config/load";

const config = (share: number) => ({
  version: 1,
  origins: { a: { baseUrl: "https://a.example.com/v1", provider: "openai" }, b: { baseUrl: "https://b.example.com/v1", provider: "openai" } },
  scenarios: { chat: { candidates: [{ origin: "a", model: "m" }], canary: { origin: "b", model: "m", share } } },
});
const text = (share: number) => JSON.stringify(config(share));

let stores = 0;
function freshStore(): DurableObjectStub<ConfigStore> {
  return env.CONFIG_STORE.getByName(`live-test-${Date.now()}-${stores++}`);
}

/** An isolate's LiveConfig on `store`, with a clock the test moves. */
function isolate(store: () => ConfigStoreApi, seedShare = 0.05) {
  const clock = { now: 1_000_000 };
  const seen: number[] = [];
  const live = new LiveConfig({
    seed: { text: text(seedShare), config: parseRouterConfig(text(seedShare)) },
    store,
    parse: (t) => parseRouterConfig(t),
    now: () => clock.now,
    at: () => 1_700_000_000_000,
    onChange: (c) => seen.push(c.scenarios.chat!.canary!.share),
  });
  const deferred: Promise<void>[] = [];
  const ready = async () => {
    const wait = live.ready((work) => deferred.push(work));
    if (wait) await wait;
  };
  return { live, clock, seen, deferred, ready };
}

describe("ConfigStore", () => {
  it("takes the first seed as version 1, a changed seed as a new version, and never brings back a seed it has seen", async () => {
    const store = freshStore();
    const head = await store.head("h1");
    expect(head).toMatchObject({ version: 0, seedKnown: false });
    expect(await store.importSeed({ config: text(0.05), hash: "h1", at: 1 })).toEqual({ storeId: head.storeId, version: 1 });
    // Another isolate with the same seed: nothing new.
    expect(await store.importSeed({ config: text(0.05), hash: "h1", at: 2 })).toEqual({ storeId: head.storeId, version: 1 });
    expect(await store.head("h1")).toEqual({ storeId: head.storeId, version: 1, seedKnown: true });
    // A deploy with a changed config.
    expect((await store.importSeed({ config: text(0.2), hash: "h2", at: 3 })).version).toBe(2);
    // An isolate of the previous deploy, still running during the rollout: its seed was seen.
    expect((await store.importSeed({ config: text(0.05), hash: "h1", at: 4 })).version).toBe(2);
    const list = await store.list({ limit: 10, before: null });
    expect(list.data.map((v) => [v.version, v.source, v.author])).toEqual([
      [2, "deploy", "deploy"],
      [1, "seed", "deploy"],
    ]);
    expect((await store.live())!.config).toBe(text(0.2));
  });

  it("refuses a write based on a stale version, and pages its history newest first", async () => {
    const store = freshStore();
    await store.importSeed({ config: text(0.05), hash: "s", at: 1 });
    const put = await store.put({ config: text(0.1), author: "admin:abcd1234", message: "raise", source: "admin", at: 2, ifVersion: 1 });
    expect(put).toMatchObject({ ok: true, version: { version: 2, author: "admin:abcd1234", message: "raise", source: "admin", rollbackOf: null, createdAt: 2 } });
    expect(await store.put({ config: text(0.3), author: "x", message: "", source: "admin", at: 3, ifVersion: 1 })).toEqual({ ok: false, live: 2 });
    for (let i = 0; i < 3; i++) await store.put({ config: text(0.1 + i / 100), author: "x", message: `m${i}`, source: "admin", at: 4 + i });
    const first = await store.list({ limit: 2, before: null });
    expect(first).toMatchObject({ hasMore: true, data: [{ version: 5 }, { version: 4 }] });
    const second = await store.list({ limit: 2, before: 4 });
    expect(second).toMatchObject({ hasMore: true, data: [{ version: 3 }, { version: 2 }] });
    expect(await store.list({ limit: 2, before: 2 })).toMatchObject({ hasMore: false, data: [{ version: 1 }] });
    expect(await store.get(99)).toBeNull();
  });
});

describe("LiveConfig: isolates pick up a new version within the bound, without a call per request", () => {
  it("checks in the background every 2 s, waits for the check once 5 s stale, and adopts what another isolate wrote", async () => {
    const store = freshStore();
    const a = isolate(() => store);
    const b = isolate(() => store);

    // First request of each isolate: no check yet, so it waits for one (and the seed becomes version 1).
    await a.ready();
    await b.ready();
    expect([a.live.current.version, b.live.current.version]).toEqual([1, 1]);
    const callsAfterStart = b.live.calls;

    // Requests within 2 s: no call at all.
    for (let i = 0; i < 100; i++) {
      b.clock.now += 10;
      await b.ready();
    }
    expect(b.live.calls).toBe(callsAfterStart);

    // Isolate A takes an admin change (as the route does: store, then adopt).
    const put = await store.put({ config: text(0.2), author: "admin:x", message: "", source: "admin", at: 5 });
    if (!put.ok) throw new Error("put refused");
    a.live.adopt((await store.head("")).storeId, put.version.version, parseRouterConfig(text(0.2)));
    expect(a.live.config.scenarios.chat!.canary!.share).toBe(0.2);

    // B, 2.5 s after its last check: this request still runs the old version, a check goes in the background.
    b.clock.now = 1_000_000 + 2_500;
    await b.ready();
    expect(b.live.config.scenarios.chat!.canary!.share).toBe(0.05);
    expect(b.deferred).toHaveLength(1);
    await b.deferred[0];
    // The next request runs version 2.
    expect(b.live.current.version).toBe(2);
    expect(b.live.config.scenarios.chat!.canary!.share).toBe(0.2);
    // Adopted twice: the store's version 1 (its seed) at start, then version 2.
    expect(b.seen).toEqual([0.05, 0.2]);

    // A quiet spell, a third version meanwhile: the first request after 5 s waits for the check.
    await store.put({ config: text(0.3), author: "admin:x", message: "", source: "admin", at: 6 });
    b.clock.now += 6_000;
    await b.ready();
    expect(b.live.config.scenarios.chat!.canary!.share).toBe(0.3);
    expect(b.deferred).toHaveLength(1);
  });

  it("keeps running what it has when the store's version does not validate here, and says why", async () => {
    const store = freshStore();
    const b = isolate(() => store);
    await b.ready();
    await store.put({ config: JSON.stringify({ ...config(0.5), origins: {} }), author: "x", message: "", source: "admin", at: 1 });
    b.clock.now += 6_000;
    await b.ready();
    expect(b.live.current.version).toBe(1);
    expect(b.live.lastError).toMatch(/^config version 2 does not validate here, version 1 stays: invalid router config/);
    // Not fetched again while the store still says version 2.
    const calls = b.live.calls;
    b.clock.now += 6_000;
    await b.ready();
    expect(b.live.calls).toBe(calls + 1);
    // A valid version clears it.
    await store.put({ config: text(0.4), author: "x", message: "", source: "admin", at: 2 });
    b.clock.now += 6_000;
    await b.ready();
    expect([b.live.current.version, b.live.lastError]).toEqual([3, null]);
  });

  it("serves the config it has when the store cannot be reached", async () => {
    const b = isolate(() => ({
      head: () => Promise.reject(new Error("network connection lost")),
      importSeed: () => Promise.reject(new Error("unreachable")),
      live: () => Promise.reject(new Error("unreachable")),
    }));
    await b.ready();
    expect(b.live.current.version).toBe(0);
    expect(b.live.config.scenarios.chat!.canary!.share).toBe(0.05);
    expect(b.live.lastError).toBe("the config store could not be reached: network connection lost");
    // It does not wait on every request meanwhile: the next check is 2 s later, in the background.
    b.clock.now += 1_000;
    expect(b.live.ready(() => {})).toBeNull();
  });
});
