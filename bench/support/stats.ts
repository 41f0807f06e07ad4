import { seededRandom } from '../../test/support/seeded.ts';

/** Percentile of sorted numbers (nearest rank). */
export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function peakRssMiB(): number {
  return round(process.resourceUsage().maxRSS / 1024, 1);
}

/**
 * The most requests per second `cores` CPUs allow when each request costs the server `serverMicros`
 * and the load generator, on the same machine, `loadGenMicros` of CPU: every core busy, none idle.
 * A target held by latency stays below it; no target can pass it without costing less per request.
 */
export function coresAllowPerSecond(cores: number, serverMicros: number, loadGenMicros: number): number {
  const micros = serverMicros + loadGenMicros;
  return micros > 0 ? Math.floor((cores * 1e6) / micros) : Number.POSITIVE_INFINITY;
}

function percentileOf(rounds: readonly (readonly number[])[], picked: readonly number[], p: number): number {
  const all = Float64Array.from(picked.flatMap((i) => rounds[i] ?? []));
  return percentile(all.sort(), p);
}

/**
 * How far the ratio of two targets' p-th percentiles can be trusted, when both ran in interleaved
 * rounds: the rounds are drawn again with replacement (the same rounds for both: what hit the machine
 * in a round hit them alike), `draws` times, and the central `level` of the ratios comes back. A
 * percentile's tail rests on few calls, and those come in bursts, so the round is the unit drawn.
 */
export function ratioInterval(
  a: readonly (readonly number[])[],
  b: readonly (readonly number[])[],
  p: number,
  draws = 1000,
  level = 0.95,
): { low: number; high: number } {
  const next = seededRandom(0x5eed);
  const n = Math.min(a.length, b.length);
  const ratios = new Float64Array(draws);
  for (let d = 0; d < draws; d++) {
    const picked = Array.from({ length: n }, () => Math.floor(next() * n));
    ratios[d] = percentileOf(a, picked, p) / percentileOf(b, picked, p);
  }
  ratios.sort();
  const tail = (100 * (1 - level)) / 2;
  return { low: percentile(ratios, tail), high: percentile(ratios, 100 - tail) };
}
