const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses the policy's duration form (30s, 10m, 1h, 7d) into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^([0-9]+)(s|m|h|d)$/.exec(text);
  if (!m) throw new Error(`not a duration: ${JSON.stringify(text)} (use e.g. 30s, 10m, 1h, 7d)`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}
