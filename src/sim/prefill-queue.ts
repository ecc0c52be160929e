/**
 * Prefill slots: an origin with N slots prefills at most N prompts at a time, first come first
 * served, so under load a request waits for a slot before its own prefill starts. That is the cost a
 * cache-affinity router trades against: sending every request to the origin that holds its prefix
 * shortens prefill but lengthens that origin's queue.
 *
 * The queue runs in virtual time and is decided when a request is planned: each slot keeps the time
 * it is busy until, and a request takes the slot that frees up first. Nothing is re-planned later,
 * which keeps the outcome a pure function of arrival order and prefill lengths (deterministic), and
 * means a request whose client goes away keeps its reservation (the slot stays "busy" for the
 * prefill it would have done, as a real engine often finishes a prefill it has started).
 */

/** Where a request's prefill lands in the queue. */
export interface SlotReservation {
  /** Milliseconds from arrival until a slot is free (0 when one is free at once). */
  waitMs: number;
}

/** FIFO prefill slots of one origin; 0 slots means unlimited (no request ever waits). */
export class PrefillQueue {
  private freeAt: number[];

  constructor(readonly slots: number) {
    this.freeAt = new Array<number>(slots).fill(0);
  }

  /**
   * Reserves the earliest-free slot for a prefill of `prefillMs` arriving at `now`:
   * start = max(now, slotFreeAt), then slotFreeAt = start + prefillMs. Ties go to the lowest slot.
   * @example
   * const q = new PrefillQueue(1);
   * q.reserve(0, 50).waitMs // 0
   * q.reserve(0, 50).waitMs // 50: the first prefill holds the only slot until t = 50
   */
  reserve(now: number, prefillMs: number): SlotReservation {
    if (this.slots === 0) return { waitMs: 0 };
    let slot = 0;
    for (let i = 1; i < this.freeAt.length; i++) {
      if ((this.freeAt[i] as number) < (this.freeAt[slot] as number)) slot = i;
    }
    const start = Math.max(now, this.freeAt[slot] as number);
    this.freeAt[slot] = start + prefillMs;
    return { waitMs: start - now };
  }

  /** Frees every slot (reservations already made keep their timing; later ones ignore them). */
  clear(): void {
    this.freeAt.fill(0);
  }
}
