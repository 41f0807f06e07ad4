// The ledger's keys (agent, owner, object, kind, chain) are filed in bulk, off the commit path: entries below the
// filed mark come through ledger_keys, those above it by scan. Queries must not tell the difference,
// an old database must come out filed, and an attacker who edits the keys must not hide an entry.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { LedgerLeaf } from '../../src/ledger/leaf.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { verifyStore } from '../../src/ledger/verify.ts';
import { openStore } from '../../src/store/open.ts';
import type { SqlRunner } from '../../src/store/sql/driver.ts';
import { KEYS_EVERY, ledgerKeyProblem } from '../../src/store/sql/ledger-keys.ts';
import { migrate } from '../../src/store/sql/migrations.ts';
import type { LedgerQuery, Store } from '../../src/store/store.ts';
import { BACKENDS, behindTethersBack, rawDriver, tempDir } from './backends.ts';

const leaf = (i: number): LedgerLeaf => ({
  v: 1,
  time: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
  kind: i % 5 === 0 ? 'proposal' : 'decision',
  agent: `agent-${i % 7}`,
  owner: `owner-${i % 3}`,
  target: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: `web-${i % 11}` },
  decision: 'allow',
  ...(i % 3 === 0 ? {} : { chain: { id: `chain-${i % 13}`, depth: 1, path: ['a'] } }),
  detail: { i },
});

const chainOf = (data: string): string | undefined => (JSON.parse(data) as { chain?: { id: string } }).chain?.id;

const N = KEYS_EVERY + 150;

/** What a query must return, computed from the rows' own columns. */
async function expected(store: Store, q: LedgerQuery): Promise<number[]> {
  const rows = await store.ledgerRows(0, N + 10);
  const hits = rows
    .filter(
      (r) =>
        (q.agent === undefined || r.columns.agent === q.agent) &&
        (q.owner === undefined || r.columns.owner === q.owner) &&
        (q.object === undefined || r.columns.object === q.object) &&
        (q.kind === undefined || r.columns.kind === q.kind) &&
        (q.chain === undefined || chainOf(r.data) === q.chain) &&
        (q.fromIndex === undefined || r.index >= q.fromIndex),
    )
    .map((r) => r.index);
  const ordered = q.newestFirst ? hits.reverse() : hits;
  return ordered.slice(0, q.limit ?? 100);
}

const QUERIES: LedgerQuery[] = [
  { agent: 'agent-3', limit: 1000 },
  { owner: 'owner-1', limit: 1000 },
  { object: 'deployments.apps:shop/web-4', limit: 1000 },
  { agent: 'agent-2', newestFirst: true, limit: 9 },
  { agent: 'agent-2', object: 'deployments.apps:shop/web-5', limit: 1000 },
  { owner: 'owner-0', kind: 'proposal', newestFirst: true, limit: 20 },
  { agent: 'agent-6', fromIndex: KEYS_EVERY - 40, limit: 30 },
  { object: 'deployments.apps:shop/web-0', fromIndex: KEYS_EVERY + 1, newestFirst: true, limit: 1000 },
  { chain: 'chain-4', limit: 1000 },
  { chain: 'chain-7', kind: 'proposal', newestFirst: true, limit: 1000 },
  { kind: 'proposal', newestFirst: true, limit: 50 },
  { kind: 'decision', fromIndex: KEYS_EVERY - 40, limit: 100 },
];

async function assertQueriesHold(store: Store, what: string): Promise<void> {
  for (const q of QUERIES)
    assert.deepEqual(
      (await store.queryLedger(q)).map((e) => e.index),
      await expected(store, q),
      `${what}: ${JSON.stringify(q)}`,
    );
}

for (const backend of BACKENDS) {
  describe(`ledger keys on ${backend.name}`, { skip: backend.skip }, () => {
    const stores: Store[] = [];
    after(async () => {
      for (const s of stores) await s.close();
      await backend.cleanup();
    });
    const filled = async () => {
      const url = await backend.fresh();
      const store = await openStore(url);
      stores.push(store);
      const ledger = Ledger.inDataDir(store, tempDir());
      // A burst first (one group commit crosses the filing threshold and files it all), then entries
      // one by one that stay above the mark: queries read both through the keys and by scan.
      await Promise.all(Array.from({ length: KEYS_EVERY + 88 }, (_, i) => store.append(leaf(i))));
      for (let i = KEYS_EVERY + 88; i < N; i++) await store.append(leaf(i));
      return { url, store, verify: () => verifyStore(store, [ledger.signer.publicKey]) };
    };

    test('queries by agent, owner and object agree with the rows, on both sides of the filed mark', async () => {
      const { store, verify } = await filled();
      await assertQueriesHold(store, 'filed and unfiled');
      assert.equal(await store.ledgerKeyProblem(), undefined);
      assert.equal((await verify()).ok, true);
    });

    test('a database from before the keys comes out filed, with the same answers', async () => {
      const url = await backend.fresh();
      const old = rawDriver(url);
      await migrate(old, 5);
      const rows = Array.from({ length: 40 }, (_, i) => leaf(i));
      for (const [i, l] of rows.entries())
        await old.transaction((tx) =>
          tx.query(
            'INSERT INTO ledger (idx, at, kind, agent, owner, object, actor, leaf_hash, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
            [
              i,
              Date.parse(l.time),
              l.kind,
              l.agent,
              l.owner,
              `deployments.apps:shop/web-${i % 11}`,
              null,
              Buffer.alloc(32),
              JSON.stringify({ ...l, index: i }),
            ],
          ),
        );
      await old.transaction((tx) => tx.query('UPDATE ledger_head SET size = 40 WHERE id = 1'));
      await old.close();
      const store = await openStore(url);
      stores.push(store);
      assert.equal(await store.ledgerKeyProblem(), undefined);
      assert.deepEqual(
        (await store.queryLedger({ agent: 'agent-3', limit: 100 })).map((e) => e.index),
        [3, 10, 17, 24, 31, 38],
      );
      assert.deepEqual(
        (await store.queryLedger({ object: 'deployments.apps:shop/web-2', newestFirst: true, limit: 2 })).map(
          (e) => e.index,
        ),
        [35, 24],
      );
      assert.deepEqual(
        (await store.queryLedger({ chain: 'chain-4', limit: 100 })).map((e) => e.index),
        [4, 17],
      );
      assert.deepEqual(
        (await store.queryLedger({ kind: 'proposal', newestFirst: true, limit: 3 })).map((e) => e.index),
        [35, 30, 25],
      );
    });

    test('attacker: a key deleted, moved or rewritten, or the filed mark raised, is caught at its entry', async () => {
      const tamperings: [string, string, unknown[], number][] = [
        ['deleted', "DELETE FROM ledger_keys WHERE key_column = 'agent' AND entry = ?", [42], 42],
        [
          'rewritten',
          "UPDATE ledger_keys SET key_value = 'agent-X' WHERE key_column = 'agent' AND entry = ?",
          [17],
          17,
        ],
        ['moved', "UPDATE ledger_keys SET entry = 100000 WHERE key_column = 'object' AND entry = ?", [5], 5],
        ['kind deleted', "DELETE FROM ledger_keys WHERE key_column = 'kind' AND entry = ?", [25], 25],
        [
          'chain rewritten',
          "UPDATE ledger_keys SET key_value = 'chain-0' WHERE key_column = 'chain' AND entry = ?",
          [31],
          31,
        ],
        ['chain added', "INSERT INTO ledger_keys VALUES ('chain', 'chain-x', ?)", [30], 30],
        ['raised', 'UPDATE ledger_head SET keyed = size + 1 WHERE id = 1', [], N],
      ];
      for (const [what, sql, params, at] of tamperings) {
        const { url, store, verify } = await filled();
        await behindTethersBack(url, sql, params);
        const r = await verify();
        assert.equal(r.ok, false, what);
        assert.equal(r.firstBadIndex, at, `${what}: ${r.problems.join('; ')}`);
        assert.match(r.problems.join(' '), /keys/, what);
        assert.notEqual(await store.ledgerKeyProblem(), undefined);
      }
    });

    test('attacker: chain ids made of LIKE wildcards, escapes, quotes or other case find exactly their own', async () => {
      const store = await openStore(await backend.fresh());
      stores.push(store);
      const ids = ['a%b', 'a_b', 'axb', 'A%B', 'a\\b"c', '\u00c4\u00d6', '\u00e4\u00f6', '"id":"a%b"'];
      for (const [i, id] of ids.entries()) await store.append({ ...leaf(i), chain: { id, depth: 0, path: [] } });
      for (const [i, id] of ids.entries())
        assert.deepEqual(
          (await store.queryLedger({ chain: id })).map((e) => e.index),
          [i],
          id,
        );
      assert.deepEqual(await store.queryLedger({ chain: '%' }), []);
    });

    test('a filing made while the keys are checked (a live server) is no alarm: the check reads one snapshot', async () => {
      const { url, store } = await filled();
      const raw = rawDriver(url);
      try {
        // Between the check's first statement (the mark) and the next ones, the server files a batch.
        const racing = (tx: SqlRunner): SqlRunner => {
          let filed = false;
          return {
            query: async (sql, params) => {
              const rows = await tx.query(sql, params);
              if (!filed) {
                filed = true;
                const size = await store.ledgerSize();
                await Promise.all(Array.from({ length: KEYS_EVERY }, (_, i) => store.append(leaf(size + i))));
              }
              return rows as never;
            },
          };
        };
        assert.equal(await raw.snapshot((tx) => ledgerKeyProblem(racing(tx), raw.dialect.types)), undefined);
        // The same interleaving read statement by statement: keys filed past the mark it read look stray.
        assert.notEqual(await ledgerKeyProblem(racing(raw), raw.dialect.types), undefined);
        assert.equal(await store.ledgerKeyProblem(), undefined);
      } finally {
        await raw.close();
      }
    });

    test('attacker: the filed mark lowered hides nothing: the rows above it are scanned', async () => {
      const { url, store, verify } = await filled();
      await behindTethersBack(url, 'UPDATE ledger_head SET keyed = 10 WHERE id = 1');
      await assertQueriesHold(store, 'mark lowered');
      // Keys above the mark are stray now: verify says so, and the queries above still held.
      assert.equal((await verify()).ok, false);
    });
  });
}
