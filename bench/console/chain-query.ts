// The chain view's cost: one chain's entries out of a large ledger, through the ledger's chain keys
// (ledger_keys, filed in bulk, plus a scan of the entries not yet filed) versus the same query made
// to scan the whole log (its peer in this run), and the whole
// chain view (tree + breakers). SQLite; bounded; ends with one JSON line.
//   node bench/console/chain-query.ts              200,000 entries, 20,000 of them in 4,000 chains
//   BENCH_ENTRIES=50000 node bench/console/chain-query.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { LedgerLeaf } from '../../src/ledger/leaf.ts';
import { chainView } from '../../src/service/chain-tree.ts';
import { openStore } from '../../src/store/open.ts';
import { percentile, round } from '../support/stats.ts';

const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 200_000);
const CHAIN_EVERY = 10;
const HOPS = 5;
const QUERIES = 300;
const SCANS = 20;

function leaf(i: number): LedgerLeaf {
  const inChain = i % CHAIN_EVERY === 0;
  const n = Math.floor(i / CHAIN_EVERY);
  return {
    v: 1,
    time: new Date(Date.UTC(2026, 0, 1) + i * 37).toISOString(),
    kind: 'decision',
    agent: `agent-${i % 50}`,
    source: 'mcp',
    verb: 'patch',
    target: {
      group: 'apps',
      version: 'v1',
      resource: 'deployments',
      namespace: `team-${i % 20}`,
      name: `web-${i % 500}`,
    },
    decision: i % 7 === 0 ? 'deny' : 'allow',
    intent: { summary: 'scale out ahead of the evening traffic peak' },
    ...(inChain
      ? {
          chain: {
            id: `trace-${Math.floor(n / HOPS)}`,
            depth: n % HOPS,
            path: Array.from({ length: n % HOPS }, (_, k) => `agent-${k}`),
          },
        }
      : {}),
  };
}

async function time(fn: () => Promise<unknown> | unknown, runs: number): Promise<Float64Array> {
  const out = new Float64Array(runs);
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    out[i] = performance.now() - t;
  }
  return out.sort();
}

const figures = (ms: Float64Array) => ({ p50: round(percentile(ms, 50), 3), p99: round(percentile(ms, 99), 3) });

const dir = mkdtempSync(join(tmpdir(), 'tether-bench-chain-'));
try {
  const file = join(dir, 'tether.db');
  const store = await openStore(`sqlite:${file}`);
  for (let i = 0; i < ENTRIES; i += 1000)
    await Promise.all(Array.from({ length: Math.min(1000, ENTRIES - i) }, (_, k) => store.append(leaf(i + k))));
  const chains = Math.floor(ENTRIES / CHAIN_EVERY / HOPS);
  const pick = () => `trace-${Math.floor(Math.random() * chains)}`;

  const indexed = await time(() => store.queryLedger({ chain: pick() }), QUERIES);
  const view = await time(() => chainView(store, pick()), QUERIES);
  const db = new Database(file, { readonly: true });
  const scan = db.prepare(
    "SELECT idx, data, leaf_hash FROM ledger NOT INDEXED WHERE json_extract(data, '$.chain.id') = ? ORDER BY idx LIMIT 1001",
  );
  const scanned = await time(() => scan.all(pick()), SCANS);
  db.close();
  await store.close();

  const result = {
    machine: 'shared: 2 cores, 8 engineers running tests at once',
    entries: ENTRIES,
    chains,
    hopsPerChain: HOPS,
    indexedQueryMs: figures(indexed),
    chainViewMs: figures(view),
    scanPeerMs: figures(scanned),
  };
  console.log(`chain query over ${ENTRIES} entries (${chains} chains of ${HOPS}), SQLite; machine shared`);
  console.log(
    `  by chain id, indexed:   p50 ${result.indexedQueryMs.p50} ms  p99 ${result.indexedQueryMs.p99} ms  (${QUERIES} queries)`,
  );
  console.log(`  whole chain view:       p50 ${result.chainViewMs.p50} ms  p99 ${result.chainViewMs.p99} ms`);
  console.log(
    `  peer, same query, scan: p50 ${result.scanPeerMs.p50} ms  p99 ${result.scanPeerMs.p99} ms  (${SCANS} queries)`,
  );
  console.log(JSON.stringify(result));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
