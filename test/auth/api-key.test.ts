/** Signed tenant keys (issue #12, item 1): what the MAC proves, and what it does not accept. */
import { describe, expect, it } from "vitest";
import { generateKey, hasValidMac, importSigningKey, parseKey, tenantOfKey } from "../../src/auth/api-key";

const SECRET_A = "11".repeat(32);
const SECRET_B = "22".repeat(32);

describe("signed keys", () => {
  it("are tr-<tenant>-<32 random>-<32 hex of MAC>, and verify under their deployment's secret only", async () => {
    const a = await importSigningKey(SECRET_A);
    const key = await generateKey("acme", a);
    expect(key).toMatch(/^tr-acme-[A-Za-z0-9_-]{32}-[0-9a-f]{32}$/);
    expect(tenantOfKey(key)).toBe("acme");
    const parsed = parseKey(key);
    expect(parsed).toMatchObject({ tenantId: "acme", kind: "signed", signedPart: key.slice(0, -33) });
    expect(await hasValidMac(parsed as Extract<typeof parsed, { kind: "signed" }>, a)).toBe(true);
    expect(await hasValidMac(parsed as Extract<typeof parsed, { kind: "signed" }>, await importSigningKey(SECRET_B))).toBe(false);
    expect(await generateKey("acme", a)).not.toBe(key);
  });

  it.each([
    ["a changed MAC digit", (k: string) => k.slice(0, -1) + (k.endsWith("0") ? "1" : "0")],
    ["a changed secret character", (k: string) => k.replace(/^(tr-acme-)(.)/, (_, p: string, c: string) => p + (c === "A" ? "B" : "A"))],
    ["another tenant's name on the same secret and MAC", (k: string) => k.replace("tr-acme-", "tr-acmf-")],
  ])("refuses %s", async (_, tamper) => {
    const a = await importSigningKey(SECRET_A);
    const forged = parseKey(tamper(await generateKey("acme", a)));
    expect(forged?.kind).toBe("signed");
    expect(await hasValidMac(forged as Extract<typeof forged, { kind: "signed" }>, a)).toBe(false);
  });

  it("tells legacy keys (issued before the MAC) from signed ones, and refuses what is not ours", () => {
    expect(parseKey("tr-demo-local")).toEqual({ tenantId: "demo", kind: "legacy" });
    expect(parseKey(`tr-acme-${"a".repeat(32)}`)).toEqual({ tenantId: "acme", kind: "legacy" });
    // A MAC that is not 32 hex digits is no MAC: legacy, and its tenant must be listed.
    expect(parseKey(`tr-acme-${"a".repeat(32)}-${"G".repeat(32)}`)).toEqual({ tenantId: "acme", kind: "legacy" });
    expect(parseKey("sk-acme-123")).toBeNull();
    expect(parseKey("tr-Acme-123")).toBeNull();
  });
});
