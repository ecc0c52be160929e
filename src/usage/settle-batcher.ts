/**
 * Settlements of one tenant, gathered for a moment and sent in one call (`settleMany`): under load
 * an isolate finishes many of a tenant's requests within a few milliseconds, and one round trip
 * (one storage commit) for all of them costs the ledger far less than one each. Nothing waits for
 * a settlement: it happens after the response, and its result is only logged.
 *
 * The request that opens a batch owns its send (its `waitUntil` keeps it alive); later requests
 * only add to it, as the health reporter's batches do. Should the isolate die before the send,
 * the reservations expire and the ledger's alarm charges them, as for any lost settlement.
 */
import type { PrefixUpdate } from "../affinity/prefix-index";
import type { SettleRequest } from "../ledger/types";

/** One settlement and what it taught the prefix index. */
export interface SettleItem {
  request: SettleRequest;
  prefix?: PrefixUpdate;
}

/** The ledger as the batcher calls it. */
export interface SettleTarget {
  settleMany(items: SettleItem[]): Promise<boolean[]>;
}

/** Long enough to gather what finishes together, far below anything a client could notice. */
const WINDOW_MS = 2;
/** A batch is sent at once when it holds this many. */
const MAX_ITEMS = 64;

interface Batch {
  items: SettleItem[];
  target: SettleTarget;
  sent: boolean;
}

export class SettleBatcher {
  private readonly open = new Map<string, Batch>();

  constructor(private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms))) {}

  /**
   * Queues a settlement for `tenant`'s ledger. Returns the send's promise when this call opened the
   * batch (hand it to `waitUntil`), else null. The promise never rejects.
   */
  add(tenant: string, target: SettleTarget, item: SettleItem): Promise<void> | null {
    const batch = this.open.get(tenant);
    if (batch && !batch.sent) {
      batch.items.push(item);
      if (batch.items.length >= MAX_ITEMS) this.close(tenant, batch);
      return null;
    }
    const opened: Batch = { items: [item], target, sent: false };
    this.open.set(tenant, opened);
    return this.sleep(WINDOW_MS).then(() => this.send(tenant, opened));
  }

  private close(tenant: string, batch: Batch): void {
    batch.sent = true;
    if (this.open.get(tenant) === batch) this.open.delete(tenant);
  }

  private async send(tenant: string, batch: Batch): Promise<void> {
    // A full batch was closed early; it is still sent here, by its owner.
    this.close(tenant, batch);
    try {
      await batch.target.settleMany(batch.items);
    } catch (e) {
      const ids = batch.items.map((i) => i.request.requestId).join(", ");
      console.error(`settle failed for ${ids} (the alarm will charge their reservations)`, e);
    }
  }
}
