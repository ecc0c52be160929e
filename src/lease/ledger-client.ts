/**
 * A tenant's ledger as the request path calls it. Every call is counted: "ledger calls per request"
 * is the measure of leased admission (DESIGN §3), reported by the benchmark. In benchmarks only,
 * `BENCH_LEDGER_RTT_MS` delays each call by a round trip, as a ledger in another region would.
 */
import type { PrefixLookup, PrefixMatch } from "../affinity/prefix-index";
import type { TenantLedger } from "../ledger/tenant-ledger";
import type { AdmitRequest, AdmitResult, Feedback, FeedbackResult, LeaseReport, LeaseResult, LeaseWant, SettleRequest } from "../ledger/types";
import type { PrefixUpdate } from "../affinity/prefix-index";
import type { ResponseChain, ResponseRow } from "../ledger/response-store";

/** What the request path asks of a tenant's ledger. */
export interface LedgerCalls {
  admit(request: AdmitRequest): Promise<AdmitResult>;
  acquireLease(request: { key: string; at: number; want: LeaseWant }): Promise<LeaseResult>;
  reportLease(report: LeaseReport): Promise<boolean>;
  settleMany(items: Array<{ request: SettleRequest; prefix?: PrefixUpdate }>): Promise<boolean[]>;
  lookupPrefix(lookup: PrefixLookup, at: number): Promise<Record<string, PrefixMatch>>;
}

/** Calls counted per isolate, by kind. */
export class LedgerCallCount {
  total = 0;
  readonly byKind = new Map<string, number>();

  add(kind: string): void {
    this.total++;
    this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + 1);
  }
}

/** A counting (and, in benchmarks, delaying) client of one tenant's ledger stub. */
export class LedgerClient implements LedgerCalls {
  private made: DurableObjectStub<TenantLedger> | null = null;

  /** `makeStub` makes the ledger's stub, on the first call: most requests under a lease make none. */
  constructor(
    private readonly makeStub: () => DurableObjectStub<TenantLedger>,
    private readonly count: LedgerCallCount,
    private readonly rttMs = 0,
  ) {}

  private get stub(): DurableObjectStub<TenantLedger> {
    return (this.made ??= this.makeStub());
  }

  private async call<T>(kind: string, send: () => Promise<T>): Promise<T> {
    this.count.add(kind);
    if (this.rttMs > 0) await new Promise((resolve) => setTimeout(resolve, this.rttMs));
    return send();
  }

  admit(request: AdmitRequest): Promise<AdmitResult> {
    return this.call("admit", () => this.stub.admit(request) as Promise<AdmitResult>);
  }

  acquireLease(request: { key: string; at: number; want: LeaseWant }): Promise<LeaseResult> {
    return this.call("acquireLease", () => this.stub.acquireLease(request) as Promise<LeaseResult>);
  }

  reportLease(report: LeaseReport): Promise<boolean> {
    return this.call("reportLease", () => this.stub.reportLease(report));
  }

  settleMany(items: Array<{ request: SettleRequest; prefix?: PrefixUpdate }>): Promise<boolean[]> {
    return this.call("settleMany", () => this.stub.settleMany(items));
  }

  lookupPrefix(lookup: PrefixLookup, at: number): Promise<Record<string, PrefixMatch>> {
    return this.call("lookupPrefix", () => this.stub.lookupPrefix(lookup, at) as Promise<Record<string, PrefixMatch>>);
  }

  /** The stored conversation a Responses request continues (`previous_response_id`). */
  responseChain(id: string, at: number): Promise<ResponseChain> {
    return this.call("responseChain", () => this.stub.responseChain(id, at) as Promise<ResponseChain>);
  }

  /** Records a tenant's verdict on one of its requests (`POST /v1/feedback`). */
  recordFeedback(requestId: string, feedback: Feedback, windowMs: number): Promise<FeedbackResult> {
    return this.call("recordFeedback", () => this.stub.recordFeedback(requestId, feedback, windowMs) as Promise<FeedbackResult>);
  }

  /** Stores a finished Responses API response. */
  storeResponse(row: ResponseRow): Promise<boolean> {
    return this.call("storeResponse", () => this.stub.storeResponse(row));
  }
}
