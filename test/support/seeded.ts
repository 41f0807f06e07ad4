/**
 * A small seeded generator (mulberry32) of numbers in [0, 1): the same seed gives the same sequence,
 * so a randomized test names a reproducible case and a bench prints the same figure from the same
 * samples. Not for anything secret.
 */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
