/**
 * Fast, deterministic, non-cryptographic hashing and a seeded PRNG: the simulator needs the same
 * outputs for the same inputs on every run and in every runtime (Node and workerd), nothing more.
 */

/** A 64-bit FNV-1a state held as two unsigned 32-bit halves (JS numbers cannot hold 64-bit products). */
export interface Hash64 {
  hi: number;
  lo: number;
}

/** FNV-1a 64-bit offset basis 0xcbf29ce484222325 (http://www.isthe.com/chongo/tech/comp/fnv/). */
export const FNV64_OFFSET: Readonly<Hash64> = { hi: 0xcbf29ce4, lo: 0x84222325 };

/**
 * Folds `bytes[start, end)` into a 64-bit FNV-1a state.
 * The prime is 2^40 + 0x1b3, so `h * prime = h * 0x1b3 + (h << 40)`; `lo * 0x1b3` < 2^41 is exact in
 * a double, which gives the carry into the high half.
 * @example
 * fnv64Update(FNV64_OFFSET, new TextEncoder().encode("a")) // { hi: 0xaf63dc4c, lo: 0x8601ec8c }
 */
export function fnv64Update(h: Readonly<Hash64>, bytes: Uint8Array, start = 0, end = bytes.length): Hash64 {
  let hi = h.hi;
  let lo = h.lo;
  for (let i = start; i < end; i++) {
    lo = (lo ^ (bytes[i] ?? 0)) >>> 0;
    const p = lo * 0x1b3;
    hi = (Math.imul(hi, 0x1b3) + Math.floor(p / 0x1_0000_0000) + (lo << 8)) >>> 0;
    lo = p >>> 0;
  }
  return { hi, lo };
}

/** Folds a previous 64-bit hash (8 bytes, big-endian) into a state; used to chain block hashes. */
export function fnv64UpdateHash(h: Readonly<Hash64>, prev: Readonly<Hash64>): Hash64 {
  const b = new Uint8Array(8);
  const view = new DataView(b.buffer);
  view.setUint32(0, prev.hi);
  view.setUint32(4, prev.lo);
  return fnv64Update(h, b);
}

/** A 64-bit hash as 16 hex digits (a Map key). */
export function hash64Hex(h: Readonly<Hash64>): string {
  return h.hi.toString(16).padStart(8, "0") + h.lo.toString(16).padStart(8, "0");
}

/**
 * 32-bit FNV-1a of some bytes: the seed of everything the simulator generates.
 * @example
 * fnv1a32(new TextEncoder().encode("a")) // 0xe40c292c
 */
export function fnv1a32(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}

/**
 * mulberry32: a tiny seeded PRNG returning floats in [0, 1).
 * @example
 * const next = mulberry32(42); next(); // same value on every run
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}
