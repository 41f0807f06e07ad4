// The rate and breaker windows are read from per-second counts plus the rows of the window's first,
// partial second. These tests hold that reading to the plain definition (every row with at ≥ since),
// on both backends, with events placed around second and window edges where an off-by-one would
// show, in batches and alone, and after prune.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Action } from '../../src/engine/action.ts';
import type { Effect } from '../../src/engine/decision.ts';
import { openStore } from '../../src/store/open.ts';
import type { AgentStateNeeds, Store } from '../../src/store/store.ts';
import { migrate } from '../../src/store/sql/migrations.ts';
import { BACKENDS, rawDriver } from './backends.ts';

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const action: Action = {
  source: 'api',
  subject: { username: 'system:serviceaccount:agents:scaler', groups: [] },
  verb: 'update',
  target: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: 'web' },
};
const needs = (rateWindowMs: number, breakerWindowMs: number): AgentStateNeeds => ({
  name: 'scaler',
  budgets: [],
  breakerWindowMs,
  rateWindowMs,
});

/** Offsets from T0 (ms) that sit on, just before and just after second boundaries. */
const AT = [
  ...[-300_001, -300_000, -299_999, -240_001, -180_000, -120_500, -119_999],
  ...[-61_001, -61_000, -60_999, -60_001, -60_000, -59_999, -30_500, -1_001, -1_000, -999, -1, 0],
];

async function record(s: Store, agent: string, at: number, violation: boolean): Promise<void> {
  const effects: Effect[] = [{ kind: 'mutation.record', agent }];
  if (violation) effects.push({ kind: 'violation.record', agent, rule: 'boundary/rule' });
  const r = await s.commit({ v: 1, time: new Date(at).toISOString(), kind: 'decision', agent }, effects, at);
  assert.equal(r.ok, true);
}

for (const backend of BACKENDS) {
  describe(`event windows on ${backend.name}`, { skip: backend.skip }, () => {
    after(() => backend.cleanup());

    for (const order of ['oldest first', 'newest first (clocks that disagree: replicas, a step back)'])
      test(`a window counts exactly the events at or after its start, whatever second it starts in; ${order}`, async () => {
        const s = await openStore(await backend.fresh());
        try {
          // Two events at each instant, one of them a violation; some share a group commit.
          for (const off of order === 'oldest first' ? AT : [...AT].reverse())
            await Promise.all([record(s, 'scaler', T0 + off, true), record(s, 'scaler', T0 + off, false)]);
          await record(s, 'other-agent', T0, true); // another agent's events never count
          for (const now of [T0, T0 + 1, T0 + 999, T0 + 1_000, T0 + 1_001, T0 + 500, T0 + 59_999, T0 + 60_001]) {
            for (const windowMs of [60_000, 60_999, 61_000, 1_000, 1, 30_000, 120_000, 180_001, 299_999, 300_000]) {
              const st = await s.stateFor(needs(windowMs, windowMs), action, now);
              const since = now - windowMs;
              const inWindow = AT.filter((off) => T0 + off >= since).length;
              assert.equal(
                st.mutationsSince('scaler', since),
                inWindow * 2,
                `mutations, now ${now - T0}, window ${windowMs}`,
              );
              assert.equal(
                st.violationsSince('scaler', since),
                inWindow,
                `violations, now ${now - T0}, window ${windowMs}`,
              );
            }
          }
        } finally {
          await s.close();
        }
      });

    test('a database from before the partial second was found by second (and before counts were kept in key order) keeps its windows', async () => {
      const url = await backend.fresh();
      const old = rawDriver(url);
      await migrate(old, 6);
      // What version 6 wrote for each event: its row, and its second's count.
      await old.transaction(async (tx) => {
        for (const off of AT) {
          await tx.query('INSERT INTO mutations (agent, at) VALUES (?, ?)', ['scaler', T0 + off]);
          await tx.query('INSERT INTO violations (agent, rule, at) VALUES (?, ?, ?)', ['scaler', 'r', T0 + off]);
          for (const kind of ['mutation', 'violation'])
            await tx.query(
              `INSERT INTO event_seconds (agent, kind, second, n) VALUES (?, ?, ?, 1)
                ON CONFLICT (agent, kind, second) DO UPDATE SET n = event_seconds.n + 1`,
              ['scaler', kind, Math.floor((T0 + off) / 1000)],
            );
        }
      });
      await old.close();
      const s = await openStore(url);
      try {
        if (backend.name === 'sqlite') {
          // Migration 9 rebuilt the counts in key order (one b-tree, no rowid): a window's rows share pages.
          const check = rawDriver(url);
          const [t] = await check.query<{ sql: string }>("SELECT sql FROM sqlite_schema WHERE name = 'event_seconds'");
          await check.close();
          assert.match(t?.sql ?? '', /WITHOUT ROWID/);
        }
        for (const windowMs of [60_000, 60_999, 61_000, 1_000, 30_000, 180_001, 300_000]) {
          const st = await s.stateFor(needs(windowMs, windowMs), action, T0 + 1);
          const inWindow = AT.filter((off) => T0 + off >= T0 + 1 - windowMs).length;
          assert.equal(st.mutationsSince('scaler', T0 + 1 - windowMs), inWindow, `mutations, window ${windowMs}`);
          assert.equal(st.violationsSince('scaler', T0 + 1 - windowMs), inWindow, `violations, window ${windowMs}`);
        }
      } finally {
        await s.close();
      }
    });

    test('one group commit mixing a late second and a new one, for two agents, counts exactly', async () => {
      const s = await openStore(await backend.fresh());
      try {
        await record(s, 'scaler', T0 + 10_000, true);
        // One batch: a second before the agent's latest, one after it, and another agent's first.
        await Promise.all([
          record(s, 'scaler', T0, true),
          record(s, 'scaler', T0 + 20_000, false),
          record(s, 'other-agent', T0 + 5_000, true),
          record(s, 'scaler', T0 + 10_500, true),
        ]);
        const scaler = [T0, T0 + 10_000, T0 + 10_500, T0 + 20_000];
        const violations = [T0, T0 + 10_000, T0 + 10_500];
        for (const since of [T0 - 1_000, T0, T0 + 1, T0 + 9_999, T0 + 10_000, T0 + 10_001, T0 + 10_600, T0 + 20_001]) {
          const st = await s.stateFor(needs(60_000, 60_000), action, since + 60_000);
          const count = (ats: number[]) => ats.filter((at) => at >= since).length;
          assert.equal(st.mutationsSince('scaler', since), count(scaler), `mutations since ${since - T0}`);
          assert.equal(st.violationsSince('scaler', since), count(violations), `violations since ${since - T0}`);
        }
      } finally {
        await s.close();
      }
    });

    test('prune drops the counts no window reaches, and keeps the ones it does', async () => {
      const s = await openStore(await backend.fresh());
      try {
        for (const off of AT) await record(s, 'scaler', T0 + off, true);
        await s.prune(T0 - 60_000);
        const st = await s.stateFor(needs(60_000, 60_000), action, T0);
        const kept = AT.filter((off) => off >= -60_000).length;
        assert.equal(st.mutationsSince('scaler', T0 - 60_000), kept);
        assert.equal(st.violationsSince('scaler', T0 - 60_000), kept);
      } finally {
        await s.close();
      }
    });
  });
}
