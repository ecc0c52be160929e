/**
 * A request's settlement, made exactly once however the request ends: with the real cost of its
 * answer, or as cancelled when its client went away first. Settled in a batch with the tenant's
 * other requests ending now; the served request's lesson for the prefix index rides along.
 *
 * A client that leaves while an origin works: at the edge the runtime then ends the handler
 * mid-await, and only what `waitUntil` holds survives. So the request's abort signal is listened to
 * from before any origin is awaited, and the listener settles it: the prompt of the origin being
 * called is charged (it worked on it), nothing if none was. Once an answer is in hand, its own path
 * settles it (a stream's relay notices the client leaving itself).
 *
 * A request admitted under the isolate's lease is settled against it (`lease/holder.ts`): its row
 * goes to the ledger in the lease's next report. Either way, what the served request taught the
 * prefix index is kept in this isolate's copy at once, and travels to the ledger with the row.
 */
import { learnedFrom } from "./prefix";
import { FREE, originPrices } from "../config/origins";
import type { SettleRequest } from "../ledger/types";
import type { Usage } from "../openai/usage";
import type { Target } from "../proxy/forward";
import type { SettleItem } from "../usage/settle-batcher";
import { cancelledSettlement, failedSettlement, type RequestFacts, type Served } from "../usage/record";
import type { Admission } from "./admit";
import type { RequestContext } from "./context";

export class Settlement {
  /** What every settlement of this request shares. */
  readonly facts: RequestFacts;
  /** The origin being called, until the forward returns. */
  private calling: Target | null = null;
  private settled = false;
  private readonly clientLeft = () => this.cancelled();

  /**
   * `deliver`, when given, takes the settlement instead of the lease or the isolate's batcher: a
   * batch line (src/batch) writes its result first and settles it itself, confirmed.
   */
  constructor(
    private readonly ctx: RequestContext,
    private readonly admission: Admission,
    private readonly deliver: ((item: SettleItem) => Promise<void>) | null = null,
  ) {
    this.facts = {
      requestId: ctx.requestId,
      keyId: admission.grant.keyId,
      endpoint: admission.endpoint,
      scenario: admission.model,
      stream: admission.stream,
      requestBytes: admission.bodyBytes,
      startedAt: ctx.startedAt,
      arrivedAt: ctx.arrivedAt,
      reservedMicros: admission.grant.reservedMicros,
      attribution: admission.attribution,
    };
    ctx.client.on(this.clientLeft);
    ctx.log.admitted(admission.grant.tenantId, admission.grant.keyId, admission.ticket !== null);
  }

  /** The origin now being called (the forward's `onAttempt`). */
  calls(target: Target): void {
    this.calling = target;
  }

  /** An answer is in hand: from here on its own path settles the request. */
  answered(): void {
    this.ctx.client.off(this.clientLeft);
  }

  /** The served origin's fields of a settlement: its name, model and prices at the request's start (at its `service_tier`'s when sent). */
  servedBy(target: Target): Pick<Served, "origin" | "model" | "prices"> {
    const prices = originPrices(this.ctx.config, target.originName, this.ctx.startedAt, this.admission.upstream.body.service_tier);
    return { origin: target.originName, model: target.model, prices };
  }

  /** Settles the request as cancelled by its client (once; `target` is the origin that was called, if any). */
  cancelled(target: Target | null = this.calling): void {
    const served = target ? { ...this.servedBy(target), status: 499, outcome: "cancelled" } : { origin: null, model: null, prices: FREE, status: 499, outcome: "cancelled" };
    this.ctx.waitUntil(this.settle(cancelledSettlement(this.facts, served, Date.now())));
  }

  /** Settles a request that failed inside the router before an answer (a bug): nothing is charged, nothing stays held. */
  failed(): void {
    this.answered();
    const served = { origin: null, model: null, prices: FREE, status: 500, outcome: "internal" };
    this.ctx.waitUntil(this.settle(failedSettlement(this.facts, served, Date.now())));
  }

  /**
   * Settles the request (once): later calls change nothing. The promise, for `waitUntil`, never
   * rejects; null when nothing is left to wait for (most requests under a lease: their row waits
   * in the lease's next report).
   */
  settle(settlement: SettleRequest, usage: Usage | null = null): Promise<void> | null {
    if (this.settled) return null;
    this.settled = true;
    this.ctx.log.settled(settlement);
    const { config, isolate } = this.ctx;
    const { prefix, matches, grant, caller, ticket } = this.admission;
    const learned = prefix && settlement.origin !== null && settlement.status === 200 ? learnedFrom(config, prefix, matches, settlement.origin, usage) : null;
    if (learned) isolate.prefixIndex(grant.tenantId).update(learned, settlement.at);
    const item = { request: settlement, ...(learned ? { prefix: learned } : {}) };
    if (this.deliver) return this.deliver(item);
    if (ticket) {
      isolate.leases.settle(ticket, item);
      const work = isolate.leases.drain();
      return work.length === 0 ? null : Promise.all(work).then(() => undefined);
    }
    return isolate.settlements.add(grant.tenantId, caller.ledger, item);
  }
}
