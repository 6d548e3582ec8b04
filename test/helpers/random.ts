// A seeded generator, so that a failing run of a randomized test repeats.
import { createHash } from 'node:crypto';

export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  // mulberry32
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `length` bytes that depend only on `seed`: a payload a test can make again to compare. */
export function patternBytes(seed: number, length: number): Buffer {
  // An extendable-output hash: native speed (a byte loop is slow in jest's sandbox).
  return createHash('shake256', { outputLength: length }).update(`pattern ${seed}`).digest();
}
