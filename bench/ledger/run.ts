// Ledger figures: appends/s with group commit (SQLite, PostgreSQL), the time to verify 1,000,000
// entries, and proof generation at 1,000,000 entries. Bounded; ends with one JSON line.
//   node bench/ledger/run.ts            PostgreSQL from TETHER_BENCH_PG_URL, else a throwaway cluster from scripts/pg.sh
//   BENCH_ENTRIES=200000 node bench/ledger/run.ts   a smaller log for a quick look
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { leafHash } from '../../src/ledger/hash.ts';
import type { LedgerLeaf } from '../../src/ledger/leaf.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { verifyInclusion } from '../../src/ledger/proof.ts';
import { verifyStore } from '../../src/ledger/verify.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { answerWhy } from '../../src/service/why.ts';
import { percentile } from '../support/stats.ts';

const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 1_000_000);
const APPEND_SAMPLE = 100_000;
const PG_SAMPLE = 50_000;
const IN_FLIGHT = 1_000;
const PROOFS = 10_000;

/** A decision entry of realistic size (~700 bytes of canonical JSON). */
function decisionLeaf(i: number): LedgerLeaf {
  return {
    v: 1,
    time: new Date(Date.UTC(2026, 0, 1) + i * 37).toISOString(),
    kind: 'decision',
    agent: `agent-${i % 50}`,
    owner: `owner-${i % 7}@example.com`,
    authorityClass: 'autonomous',
    source: 'admission',
    verb: 'update',
    target: {
      group: 'apps',
      version: 'v1',
      resource: 'deployments',
      namespace: `team-${i % 20}`,
      name: `web-${i % 500}`,
    },
    actionDigest: `sha256:${i.toString(16).padStart(64, 'a')}`,
    objectDigest: `sha256:${i.toString(16).padStart(64, 'b')}`,
    intent: {
      summary: 'scale out ahead of the evening traffic peak',
      trigger: `alert:HighLatency-${i % 100}`,
      goal: 'p99 latency under 200ms',
    },
    intentDigest: `sha256:${i.toString(16).padStart(64, 'c')}`,
    decision: 'allow',
    rules: [],
    policyVersion: 'sha256:5f3c0a6d9b1e4f2a8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b',
    auditId: `6f1c2a3b-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
    detail: { subject: `system:serviceaccount:agents:agent-${i % 50}`, governed: true, mode: 'enforce' },
  };
}

/** Appends `count` entries with IN_FLIGHT concurrent callers; returns appends per second. */
async function appendRate(store: Store, count: number, offset = 0): Promise<number> {
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < count) await store.append(decisionLeaf(offset + next++));
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return count / ((performance.now() - started) / 1000);
}

const round = (n: number, digits = 0) => Number(n.toFixed(digits));

/**
 * `tether why` at full size: every governed change to one object, each proven against the signed
 * checkpoint, for a typical object (20 changes) and for the busiest objects of this synthetic log
 * (2,000 changes each). Peer in the same run: the same indexed read without proofs.
 */
async function whyFigures(store: Store, ledger: Ledger): Promise<Record<string, number>> {
  const RUNS = 30;
  const timed = async (fn: (k: number) => Promise<unknown>) => {
    const ms: number[] = [];
    for (let k = 0; k < RUNS; k++) {
      const t = performance.now();
      await fn(k);
      ms.push(performance.now() - t);
    }
    ms.sort((a, b) => a - b);
    return { p50: round(percentile(ms, 50), 1), p99: round(percentile(ms, 99), 1) };
  };
  const busy = (k: number) => {
    const name = (k * 7) % 500;
    return `deployments.apps:team-${name % 20}/web-${name}`;
  };
  const typical = await timed(() => answerWhy(store, ledger, 'deployments.apps:shop/checkout'));
  const sample = await answerWhy(store, ledger, 'deployments.apps:shop/checkout');
  const allProven = sample.changes.length === 20 && sample.changes.every((c) => c.change.proof.verified);
  const heavy = await timed((k) => answerWhy(store, ledger, busy(k)));
  const heavySample = await answerWhy(store, ledger, busy(1));
  const raw = await timed((k) => store.queryLedger({ object: busy(k), limit: 5001 }));
  console.log(
    `why at ${(await store.ledgerSize()).toLocaleString('en')} entries (machine shared with other work): typical object (20 changes, all proven: ${allProven}) p50 ${typical.p50} ms, p99 ${typical.p99} ms; busiest objects (${heavySample.changes.length.toLocaleString('en')} changes each, every one proven) p50 ${heavy.p50} ms, p99 ${heavy.p99} ms; peer: the same indexed read without proofs p50 ${raw.p50} ms, p99 ${raw.p99} ms`,
  );
  return {
    whyTypicalP50Ms: typical.p50,
    whyTypicalP99Ms: typical.p99,
    whyBusyP50Ms: heavy.p50,
    whyBusyP99Ms: heavy.p99,
    whyPeerReadP50Ms: raw.p50,
    whyPeerReadP99Ms: raw.p99,
  };
}

async function postgresUrl(): Promise<{ url: string; stop: () => void }> {
  const given = process.env.TETHER_BENCH_PG_URL;
  if (given) return { url: given, stop: () => undefined };
  const script = fileURLToPath(new URL('../../scripts/pg.sh', import.meta.url));
  const started = spawnSync('bash', [script], { encoding: 'utf8' });
  const cluster = /cluster in (\S+)/.exec(started.stderr)?.[1];
  if (started.status !== 0 || !cluster) throw new Error(`scripts/pg.sh could not start PostgreSQL: ${started.stderr}`);
  return { url: started.stdout.trim(), stop: () => spawnSync('bash', [script, 'stop', cluster]) };
}

const dir = mkdtempSync(join(tmpdir(), 'tether-bench-'));
const figures: Record<string, number> = {};
try {
  console.log(
    `ledger benchmark: ${ENTRIES.toLocaleString('en')} entries; ${IN_FLIGHT} concurrent appenders, group commit`,
  );

  const sqlite = await openStore(`sqlite:${join(dir, 'bench.db')}`);
  figures.sqliteAppendsPerSec = round(await appendRate(sqlite, APPEND_SAMPLE));
  console.log(
    `SQLite (WAL, synchronous=FULL): ${figures.sqliteAppendsPerSec.toLocaleString('en')} appends/s over ${APPEND_SAMPLE.toLocaleString('en')}`,
  );

  const pg = await postgresUrl();
  const interrupted = () => {
    pg.stop();
    process.exit(130);
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    const store = await openStore(pg.url);
    figures.postgresAppendsPerSec = round(await appendRate(store, PG_SAMPLE));
    console.log(
      `PostgreSQL 15: ${figures.postgresAppendsPerSec.toLocaleString('en')} appends/s over ${PG_SAMPLE.toLocaleString('en')}`,
    );
    await store.close();
  } finally {
    pg.stop();
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
  }

  const filled = performance.now();
  figures.sqliteAppendsPerSecWhileFilling = round(await appendRate(sqlite, ENTRIES - APPEND_SAMPLE, APPEND_SAMPLE));
  console.log(
    `filled the SQLite log to ${(await sqlite.ledgerSize()).toLocaleString('en')} entries in ${round((performance.now() - filled) / 1000, 1)} s (${figures.sqliteAppendsPerSecWhileFilling.toLocaleString('en')} appends/s while the indexes grow)`,
  );

  // A typical object for `tether why`: 20 governed changes among the million.
  for (let k = 0; k < 20; k++)
    await sqlite.append({
      ...decisionLeaf(k),
      target: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: 'checkout' },
    });

  const ledger = Ledger.inDataDir(sqlite, dir);
  const loaded = performance.now();
  const tree = await ledger.tree();
  figures.treeLoadMs = round(performance.now() - loaded);
  const checkpoint = await ledger.checkpoint();
  console.log(
    `tree of ${tree.size.toLocaleString('en')} loaded from the stored leaf hashes in ${figures.treeLoadMs} ms; checkpoint signed`,
  );

  const verifyStart = performance.now();
  const report = await verifyStore(sqlite, [ledger.signer.publicKey]);
  figures.verifyMs = round(performance.now() - verifyStart);
  if (!report.ok) throw new Error(`the benchmark log does not verify: ${report.problems.join('; ')}`);
  console.log(
    `verify ${report.verified.toLocaleString('en')} entries (rehash every leaf, rebuild the tree, check the signed root): ${round(figures.verifyMs / 1000, 2)} s`,
  );
  // The peer: the same rows read and rehashed, nothing else. What verify adds over this is the
  // per-entry checks (parse, position, indexed columns, predecessor link) and the tree.
  const floorStart = performance.now();
  for (let from = 0; ; ) {
    const rows = await sqlite.ledgerRows(from, 20_000);
    for (const r of rows) leafHash(r.data);
    if (rows.length < 20_000) break;
    from = (rows.at(-1)?.index ?? from) + 1;
  }
  figures.rehashOnlyMs = round(performance.now() - floorStart);
  console.log(
    `  peer: read and rehash the same rows only: ${round(figures.rehashOnlyMs / 1000, 2)} s (verify's checks and tree cost ${round((figures.verifyMs - figures.rehashOnlyMs) / 1000, 2)} s more)`,
  );

  const indexes = Array.from({ length: PROOFS }, (_, i) => Math.floor((i * 7919 * 104729) % tree.size));
  let t = performance.now();
  for (const i of indexes) tree.inclusionProof(i, checkpoint.size);
  figures.inclusionProofUs = round(((performance.now() - t) * 1000) / PROOFS, 1);
  t = performance.now();
  for (let k = 0; k < PROOFS; k++) tree.consistencyProof((indexes[k] as number) + 1, checkpoint.size);
  figures.consistencyProofUs = round(((performance.now() - t) * 1000) / PROOFS, 1);
  t = performance.now();
  const withReads = indexes.slice(0, 1000);
  for (const i of withReads) await ledger.prove(i);
  figures.proveWithEntryReadUs = round(((performance.now() - t) * 1000) / withReads.length, 1);
  const sample = await ledger.prove(indexes[0] as number);
  const holds = verifyInclusion(
    sample.index,
    sample.size,
    Buffer.from(sample.leafHash, 'hex'),
    sample.proof.map((h) => Buffer.from(h, 'hex')),
    checkpoint.root,
  );
  console.log(
    `inclusion proof at ${checkpoint.size.toLocaleString('en')}: ${figures.inclusionProofUs} µs (${sample.proof.length} hashes, verifies: ${holds}); consistency proof: ${figures.consistencyProofUs} µs; ledger.prove with the entry read from SQLite: ${figures.proveWithEntryReadUs} µs`,
  );
  Object.assign(figures, await whyFigures(sqlite, ledger));
  figures.entries = tree.size;
  await sqlite.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ bench: 'ledger', ...figures }));
