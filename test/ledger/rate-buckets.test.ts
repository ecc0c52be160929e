import { describe, expect, it } from "vitest";
import { RateBuckets, type BucketRef } from "../../src/ledger/rate-limits";

const TOKENS: BucketRef = { scope: "tenant", metric: "tokens", limit: 600 };

describe("RateBuckets", () => {
  it("refills continuously at the limit per minute", () => {
    const b = new RateBuckets();
    const t = b.take([TOKENS], 600, 1_000_000);
    expect(t.ok).toBe(true);
    if (t.ok) t.commit();
    // 10 tokens a second at 600 a minute.
    expect(b.peek([TOKENS], 1_000_000 + 3_000).tokens!.remaining).toBe(30);
  });

  it("does not turn back a bucket's clock when a refund is stamped before its last take", () => {
    // Admission ran at T on the isolate's clock; settlement refunds at T - 5 s on the object's.
    // Were the bucket then stamped T - 5 s, the next take at T would count 5 s of refill (50
    // tokens) that never happened.
    const b = new RateBuckets();
    const T = 2_000_000;
    const t = b.take([TOKENS], 600, T);
    if (t.ok) t.commit();
    b.refund([TOKENS], 100, T - 5_000);
    expect(b.peek([TOKENS], T).tokens!.remaining).toBe(100);
    expect(b.take([TOKENS], 101, T).ok).toBe(false);
    expect(b.take([TOKENS], 100, T).ok).toBe(true);
  });
});
