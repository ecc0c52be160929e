/**
 * The ledger's schema migrations (src/ledger/schema.ts): a ledger written at any older version is
 * brought up to the newest when its object starts, keeps its rows, and serves what the newer
 * versions added (v4: key expiry and rotation, the disabled time; v5: stored responses, their
 * retention, the usage log's attribution; v6: outcomes, feedback and quality gates, on the usage
 * row). Each case lays the old schema down in a real ledger's
 * SQLite, writes rows the way that version did, and starts a new TenantLedger over the same storage.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MIGRATIONS } from "../../src/ledger/schema";
import { TenantLedger } from "../../src/ledger/tenant-ledger";
import { OPEN_POLICY } from "../../src/ledger/types";
import { migrate as applyMigrations } from "../../src/lib/sql-migrations";

const T0 = Date.UTC(2026, 10, 23, 9, 0);

/** Rows as the first version wrote them: every later version only adds columns and tables. */
function writeVersionOneRows(sql: SqlStorage, tenantId: string): void {
  sql.exec(
    "INSERT INTO tenant (id, name, salt, policy, limits, time_zone, retention_days, disabled, created_at) VALUES (?, 'Old', '00', ?, '{}', 'UTC', 90, 0, ?)",
    tenantId,
    JSON.stringify(OPEN_POLICY),
    T0,
  );
  sql.exec(
    "INSERT INTO api_keys (id, name, lookup, hash, hint, policy, limits, created_at) VALUES ('key_old', 'old key', 'abcd', X'00', 'tr-…abcd', ?, '{}', ?)",
    JSON.stringify(OPEN_POLICY),
    T0,
  );
  sql.exec(
    `INSERT INTO usage (request_id, at, day, key_id, endpoint, scenario, origin, model, stream, prompt_tokens, cached_tokens,
       cache_write_tokens, completion_tokens, cost_micros, reserved_micros, usage_source, status, outcome, latency_ms)
     VALUES ('req_old', ?, '2026-11-23', 'key_old', 'chat', 'chat-default', 'a', 'm', 0, 10, 0, 0, 5, 42, 100, 'reported', 200, 'ok', 12)`,
    T0,
  );
}

describe("ledger migrations", () => {
  it("numbers the versions in order: v4 is the admin API's keys and tenants, v5 stored responses and attribution, v6 outcomes", () => {
    expect(MIGRATIONS).toHaveLength(6);
    expect(MIGRATIONS[3]).toContain("ALTER TABLE api_keys ADD COLUMN expires_at");
    expect(MIGRATIONS[4]).toContain("CREATE TABLE responses");
    expect(MIGRATIONS[5]).toContain("ALTER TABLE usage ADD COLUMN feedback TEXT");
  });

  for (let from = 1; from < MIGRATIONS.length; from++) {
    it(`brings a ledger at v${from} up to v${MIGRATIONS.length}, keeping its rows`, async () => {
      const tenantId = `migrate_${from}_${crypto.randomUUID().slice(0, 8)}`;
      const stub = env.TENANT_LEDGER.getByName(tenantId);
      await runInDurableObject(stub, async (_, state) => {
        applyMigrations(state.storage.sql, MIGRATIONS.slice(0, from));
        writeVersionOneRows(state.storage.sql, tenantId);

        // The object restarting over that storage: its constructor migrates.
        const ledger = new TenantLedger(state, {});
        await state.blockConcurrencyWhile(async () => {});
        const version = state.storage.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").one().value;
        expect(version).toBe(String(MIGRATIONS.length));

        expect(await ledger.getTenant()).toEqual({
          id: tenantId,
          name: "Old",
          policy: OPEN_POLICY,
          limits: {},
          timeZone: "UTC",
          retentionDays: 90,
          responseRetentionDays: 30,
          disabled: false,
          disabledAt: null,
          createdAt: T0,
        });
        expect(await ledger.getKey("key_old")).toMatchObject({ id: "key_old", expiresAt: null, rotatedAt: null, previous: null });
        expect(await ledger.usageOf("req_old")).toMatchObject({ requestId: "req_old", costMicros: 42, user: null, metadata: null, tags: [], feedback: null, gates: null });

        // What v4 and v5 added works on the migrated rows.
        expect((await ledger.updateTenant({ disabled: true, responseRetentionDays: 7 }))?.responseRetentionDays).toBe(7);
        expect((await ledger.getTenant())?.disabledAt).toEqual(expect.any(Number));
        const now = Date.now();
        expect(await ledger.storeResponse({ id: "resp_new", previousResponseId: null, createdAt: now, body: "{}" })).toBe(true);
        expect(await ledger.getResponse("resp_new", now)).toBe("{}");
        expect(state.storage.sql.exec<{ expires_at: number }>("SELECT expires_at FROM responses").one().expires_at).toBe(now + 7 * 86_400_000);

        // What v6 added: feedback on an old row (inside a window long enough to reach back to T0), and its totals.
        const windowMs = now - T0 + 3_600_000;
        const rated = await ledger.recordFeedback("req_old", { accepted: true, score: 0.5, reason: "fine", at: now }, windowMs);
        expect(rated).toMatchObject({ ok: true, previous: null, record: { feedback: { accepted: true, score: 0.5, reason: "fine", at: now } } });
        expect(await ledger.usageTotals({}, "model")).toEqual([
          expect.objectContaining({ group: "chat-default", requests: 1, costMicros: 42, accepted: 1, rejected: 0, unrated: 0, gatesPassed: 0, gatesFailed: 0, costPerAcceptedMicros: 42 }),
        ]);
        await state.storage.deleteAlarm();
      });
    });
  }

  it("leaves a ledger at the newest version as it is", async () => {
    const stub = env.TENANT_LEDGER.getByName(`migrate_now_${crypto.randomUUID().slice(0, 8)}`);
    await runInDurableObject(stub, (_, state) => {
      applyMigrations(state.storage.sql, MIGRATIONS);
      applyMigrations(state.storage.sql, MIGRATIONS);
      expect(state.storage.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").one().value).toBe(String(MIGRATIONS.length));
    });
  });
});
