// Kubernetes resource quantities compared by value: `1000m` equals `1`, `1Gi` equals `1024Mi`,
// `0.5` equals `500m`. The API server rewrites quantities into its canonical form, so a textual
// comparison would report drift that is not there.

const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

const QUANTITY = /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/;

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/** The exact value of a quantity as a reduced fraction `num/den`, or undefined when it is not one. */
export function quantityValue(input: unknown): string | undefined {
  let text: string;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return undefined;
    text = String(input);
  } else if (typeof input === 'string') text = input.trim();
  else return undefined;
  const m = QUANTITY.exec(text);
  if (!m) return undefined;
  const [, sign, number = '', exponent, suffix = ''] = m;
  const [intPart = '', fracPart = ''] = number.split('.');
  let num = BigInt(`${intPart}${fracPart}` || '0');
  let den = 1n;
  let exp10 = -fracPart.length;
  let exp2 = 0;
  if (exponent) exp10 += Number.parseInt(exponent.slice(1), 10);
  else if (suffix in BINARY) exp2 = BINARY[suffix] as number;
  else exp10 += DECIMAL[suffix] as number;
  if (Math.abs(exp10) > 400) return undefined;
  if (exp10 >= 0) num *= 10n ** BigInt(exp10);
  else den *= 10n ** BigInt(-exp10);
  num *= 2n ** BigInt(exp2);
  if (sign === '-') num = -num;
  const g = gcd(num, den) || 1n;
  return `${num / g}/${den / g}`;
}

export function quantitiesEqual(a: unknown, b: unknown): boolean {
  const va = quantityValue(a);
  return va !== undefined && va === quantityValue(b);
}
