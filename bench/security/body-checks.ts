// What the request-hardening checks cost per AdmissionReview, beside the JSON.parse every request
// pays anyway: the nesting-depth scan run before parsing, and the keyed (HMAC) digest the API
// shows instead of a plain sha256. Single thread. Prints a table, then one JSON line.
import { createHmac, randomBytes } from 'node:crypto';
import { jsonDepth } from '../../src/adapters/shared/json-depth.ts';
import { digestKey } from '../../src/service/digest-key.ts';
import { admissionReview, deploymentObject } from '../../test/support/admission.ts';
import { percentile, round } from '../support/stats.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200_000);

const review = JSON.stringify(
  admissionReview({
    username: 'system:serviceaccount:agents:scaler',
    resource: 'deployments',
    namespace: 'shop',
    name: 'web',
    object: deploymentObject('web', 4, {
      'tether.dev/intent': JSON.stringify({ summary: 'evening peak', trigger: 'alert:HighLatency' }),
    }),
    oldObject: deploymentObject('web', 3),
  }),
);
const key = digestKey(randomBytes(32));
const digest = `sha256:${createHmac('sha256', 'x').update('y').digest('hex')}`;

function measure(name: string, work: () => unknown): { name: string; p50: number; p99: number; perSecond: number } {
  for (let i = 0; i < 10_000; i++) work();
  const samples: number[] = [];
  const started = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) {
    const t = process.hrtime.bigint();
    work();
    samples.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  samples.sort((a, b) => a - b);
  return {
    name,
    p50: round(percentile(samples, 50), 2),
    p99: round(percentile(samples, 99), 2),
    perSecond: Math.round(ROUNDS / seconds),
  };
}

const rows = [
  measure('JSON.parse (the peer: paid by every request)', () => JSON.parse(review)),
  measure('jsonDepth scan before parsing', () => jsonDepth(review)),
  measure('keyed digest for one approval shown', () => key.present(digest)),
];
console.log(`AdmissionReview of ${review.length} bytes, ${ROUNDS} rounds each; µs per call`);
console.log('check'.padEnd(48), 'p50 µs'.padStart(8), 'p99 µs'.padStart(8), 'per s'.padStart(12));
for (const r of rows)
  console.log(
    r.name.padEnd(48),
    String(r.p50).padStart(8),
    String(r.p99).padStart(8),
    String(r.perSecond).padStart(12),
  );
console.log(JSON.stringify({ bench: 'security/body-checks', bytes: review.length, rows }));
