/**
 * The live config through the admin API: versions, dry runs listing every problem, diffs,
 * rollback, and the change reaching requests at once in the isolate that took it. The test
 * config references a secret it never sets (`nokey`'s, for the fallback tests), so configs put
 * here drop that origin: the validator refuses a secret that is not set.
 */
import { afterAll, describe, expect, it } from "vitest";
import { adminFetch, chat, newTenant } from "../support/client";

interface VersionBody {
  object: string;
  version: number;
  author: string;
  message: string;
  source: string;
  rollbackOf: number | null;
  createdAt: number;
  config: any;
}

async function live(): Promise<VersionBody & { running: number }> {
  const res = await adminFetch("/config");
  expect(res.status).toBe(200);
  return (await res.json()) as VersionBody & { running: number };
}

/** The live config without the origin whose secret is unset (and the scenario that uses it). */
function withoutNokey(config: any): any {
  const next = structuredClone(config);
  delete next.origins.nokey;
  delete next.scenarios["chat-nokey-first"];
  delete next.scenarios["chat-migrating-nokey"];
  return next;
}

function put(body: unknown, query = ""): Promise<Response> {
  return adminFetch(`/config${query}`, { method: "PUT", body });
}

let seedVersion = 0;

afterAll(async () => {
  // Leave the seed's config running, whatever a failed test left behind.
  if (seedVersion > 0) await adminFetch("/config/rollback", { body: { version: seedVersion, message: "test cleanup" } });
});

describe("the live config: versions, dry runs, diffs, rollback", () => {
  it("starts from the deployment's seed as a stored version, and needs the admin token", async () => {
    const current = await live();
    seedVersion = current.version;
    expect(current).toMatchObject({ object: "config.version", author: "deploy", running: current.version });
    expect(["seed", "deploy"]).toContain(current.source);
    expect(Object.keys(current.config.scenarios)).toContain("chat-main");
    expect((await adminFetch("/config", { token: "wrong" })).status).toBe(401);
    expect((await adminFetch("/config/versions", { token: "wrong" })).status).toBe(401);
  });

  it("a dry run lists every problem at once with its JSON path, and the diff, and stores nothing", async () => {
    const before = await live();
    const next = withoutNokey(before.config);
    next.origins.alpha.provider = "acme";
    next.origins.beta.pricing.windows.push({ from: "23:00", to: "01:00", multiplier: 0.9 });
    next.scenarios["chat-main"].candidates.push({ origin: "ghost", model: "m" });
    next.origins.extra = { baseUrl: "https://extra.example.com/v1", provider: "openai", apiKeySecret: "EXTRA_KEY_NOT_SET" };
    const res = await put({ config: next }, "?dryRun=1");
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ object: "config.dry_run", valid: false, liveVersion: before.version });
    expect(body.problems.map((p: { path: string }) => p.path)).toEqual([
      "origins.alpha.provider",
      "scenarios.chat-main.candidates[2].origin",
      "origins.extra.apiKeySecret",
      "origins.beta.pricing.windows[1]",
    ]);
    expect(body.diff).toEqual(
      expect.arrayContaining([
        { path: "origins.alpha.provider", op: "changed", from: "openai", to: "acme" },
        { path: "origins.nokey", op: "removed", from: before.config.origins.nokey },
        { path: "origins.extra", op: "added", to: next.origins.extra },
        { path: "scenarios.chat-main.candidates[2]", op: "added", to: { origin: "ghost", model: "m" } },
      ]),
    );
    expect((await live()).version).toBe(before.version);

    // The same config stored for real: a 400 in OpenAI's shape, with every problem.
    const refused = await put({ config: next, message: "broken" });
    expect(refused.status).toBe(400);
    const error = ((await refused.json()) as any).error;
    expect(error).toMatchObject({ type: "invalid_request_error", code: "invalid_config", param: "origins.alpha.provider" });
    expect(error.problems).toHaveLength(4);
    expect(error.message).toMatch(/^The config has 4 problems: origins\.alpha\.provider: /);
    expect((await live()).version).toBe(before.version);
  });

  it("a new version is served at once by the isolate that took it, and a rollback restores the one before", async () => {
    const tenant = await newTenant();
    const refusedBefore = await chat(tenant.key, { model: "chat-live" });
    expect(refusedBefore.status).toBe(404);

    const before = await live();
    const next = withoutNokey(before.config);
    next.scenarios["chat-live"] = { candidates: [{ origin: "pool", model: "qwen2.5-7b" }] };
    const res = await put({ config: next, message: "add chat-live", actor: "ops@example.com", ifVersion: before.version });
    expect(res.status).toBe(200);
    const stored = (await res.json()) as VersionBody & { diff: unknown[]; effectiveBy: number };
    expect(stored).toMatchObject({ object: "config.version", version: before.version + 1, message: "add chat-live", source: "admin", rollbackOf: null });
    // Who: the words given and the token's fingerprint, never the token.
    expect(stored.author).toMatch(/^ops@example\.com \(admin:[0-9a-f]{8}\)$/);
    expect(JSON.stringify(stored)).not.toContain("test-admin-token");
    expect(stored.diff).toEqual(
      expect.arrayContaining([
        { path: "scenarios.chat-live", op: "added", to: next.scenarios["chat-live"] },
        { path: "origins.nokey", op: "removed", from: before.config.origins.nokey },
      ]),
    );
    expect(stored.effectiveBy).toBeGreaterThan(Date.now());
    expect(stored.effectiveBy).toBeLessThanOrEqual(Date.now() + 5_000);

    const served = await chat(tenant.key, { model: "chat-live" });
    expect(served.status).toBe(200);
    expect(served.headers.get("x-router-origin")).toBe("pool");
    expect((await live()).running).toBe(stored.version);

    // An edit based on what was read before: refused, nothing stored.
    const stale = await put({ config: next, ifVersion: before.version });
    expect(stale.status).toBe(409);
    expect(((await stale.json()) as any).error.message).toBe(`The live config is version ${stored.version}, not ${before.version}: read it again and redo the change.`);

    // History, one version, and the diff between two.
    const versions = (await (await adminFetch("/config/versions?limit=2")).json()) as { data: VersionBody[]; has_more: boolean };
    expect(versions.data.map((v) => v.version)).toEqual([stored.version, before.version]);
    expect(versions.data[0]).not.toHaveProperty("config");
    const one = (await (await adminFetch(`/config/versions/${before.version}`)).json()) as VersionBody;
    expect(one.config).toEqual(before.config);
    const diff = (await (await adminFetch(`/config/diff?from=${before.version}&to=${stored.version}`)).json()) as any;
    expect(diff).toMatchObject({ object: "config.diff", from: before.version, to: stored.version });
    expect(diff.changes).toEqual(stored.diff);

    // Rollback: a new version with the old config, and the scenario is gone again.
    const rolled = await adminFetch("/config/rollback", { body: { version: before.version } });
    expect(rolled.status).toBe(200);
    const back = (await rolled.json()) as VersionBody & { diff: unknown[] };
    expect(back).toMatchObject({ version: stored.version + 1, source: "rollback", rollbackOf: before.version, message: `rollback to version ${before.version}` });
    expect(back.config).toEqual(before.config);
    // The restored config names a secret that is not set: restored anyway, with a warning.
    expect((back as any).warnings).toEqual([{ path: "origins.nokey.apiKeySecret", message: 'secret "UNSET_API_KEY" is not set (wrangler secret put UNSET_API_KEY)' }]);
    expect((await chat(tenant.key, { model: "chat-live" })).status).toBe(404);

    // Both changes are in the audit log, newest first; the dry runs and the refusals are not.
    const log = (await (await adminFetch("/audit?action=config")).json()) as { data: Array<{ action: string; target: string; tenant: string | null; summary: any; actor: { token: string } }> };
    expect(log.data.map((e) => [e.action, e.target, e.tenant, e.actor.token])).toEqual([
      ["config.rollback", `version ${back.version}`, null, "admin"],
      ["config.update", `version ${stored.version}`, null, "admin"],
    ]);
    expect(log.data[1]!.summary).toEqual({ message: "add chat-live", changes: expect.arrayContaining(["added scenarios.chat-live", "removed origins.nokey"]) });
    expect(log.data[0]!.summary.rollbackOf).toBe(before.version);
  });

  it("answers unknown versions and bad queries with OpenAI-shaped 4xx", async () => {
    expect((await adminFetch("/config/versions/999999")).status).toBe(404);
    expect((await adminFetch("/config/versions/abc")).status).toBe(404);
    expect((await adminFetch("/config/versions?limit=0")).status).toBe(400);
    expect((await adminFetch("/config/diff")).status).toBe(400);
    expect((await adminFetch("/config/rollback", { body: { version: 999999 } })).status).toBe(404);
    const notObject = await put({ config: [1, 2] });
    expect(notObject.status).toBe(400);
    expect(((await notObject.json()) as any).error.param).toBe("config");
    const unknownField = await put({ config: {}, extra: 1 });
    expect(unknownField.status).toBe(400);
  });

  it("publishes the config's JSON Schema for editors", async () => {
    const res = await adminFetch("/config/schema");
    expect(res.status).toBe(200);
    const schema = (await res.json()) as any;
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(schema.required).toEqual(expect.arrayContaining(["version", "origins", "scenarios"]));
    expect(schema.properties.origins.additionalProperties.properties.provider.enum).toEqual(["openai", "deepseek", "openrouter", "vllm", "sglang"]);
  });
});
