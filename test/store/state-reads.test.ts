// Decisions' state reads grouped on PostgreSQL (src/store/sql/state-reads.ts): reads asked for in one
// turn of the event loop that share a statement text go as one statement. Each decision must still get
// exactly its own state: here a wave of reads of several agents, shapes and actions, against a real
// database holding budgets, counts, field changes and chain calls, answers every question the engine
// may ask exactly as the same reads made one at a time do.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { type Action, objectKey } from '../../src/engine/action.ts';
import type { Effect } from '../../src/engine/decision.ts';
import type { StateView } from '../../src/engine/state.ts';
import { PostgresDriver } from '../../src/store/postgres/driver.ts';
import type { SqlDriver } from '../../src/store/sql/driver.ts';
import { SqlStore } from '../../src/store/sql/sql-store.ts';
import { GROUP_MAX } from '../../src/store/sql/state-reads.ts';
import type { AgentStateNeeds } from '../../src/store/store.ts';
import { BACKENDS } from './backends.ts';

const NOW = Date.UTC(2026, 10, 29, 12, 0, 0);
const HOUR = 3_600_000;
const pg = BACKENDS.find((b) => b.name === 'postgres');

const needs = (name: string, shape: 'budget' | 'oscillation'): AgentStateNeeds => ({
  name,
  budgets: shape === 'budget' ? [{ id: `${name}/hourly`, windowMs: HOUR }] : [],
  breakerWindowMs: 300_000,
  rateWindowMs: 60_000,
  ...(shape === 'oscillation' ? { oscillation: { fields: ['spec.replicas'], windowMs: 600_000 } } : {}),
});

const action = (name: string, i: number, chained: boolean): Action => ({
  source: 'api',
  subject: { username: `system:serviceaccount:agents:${name}`, groups: [] },
  verb: 'patch',
  target: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: `web-${i % 2}` },
  ...(chained ? { chain: { id: `chain-${name}`, depth: 1, path: [name], parentActionId: 'call-0' } } : {}),
});

/** Every question the engine may ask of this read, with its answer (or the error it throws). */
function answers(state: StateView, n: AgentStateNeeds, a: Action): unknown[] {
  const key = objectKey(a.target);
  const ask = (q: () => unknown) => {
    try {
      return q();
    } catch (e) {
      return `throws: ${(e as Error).message}`;
    }
  };
  return [
    ask(() => state.killSwitch()),
    ask(() => state.breaker('agent', n.name)),
    ...n.budgets.map((b) => ask(() => state.budgetUsage(b.id, Math.floor(NOW / b.windowMs) * b.windowMs, key))),
    ask(() => state.violationsSince(n.name, NOW - n.breakerWindowMs)),
    ask(() => state.mutationsSince(n.name, NOW - n.rateWindowMs)),
    ...(n.oscillation?.fields ?? []).map((f) =>
      ask(() => state.fieldHistory(key, f, NOW - (n.oscillation?.windowMs ?? 0))),
    ),
    ask(() => (a.chain ? state.chainCallees(a.chain.id, 'call-0') : 'no chain')),
  ];
}

/** The driver, its reads recorded (its own methods run on it: they use its private fields). */
function recordingReads(driver: PostgresDriver): { driver: SqlDriver; reads: string[] } {
  const reads: string[] = [];
  const recorded: SqlDriver = {
    dialect: driver.dialect,
    query: (sql, params) => {
      reads.push(sql);
      return driver.query(sql, params);
    },
    transaction: (work) => driver.transaction(work),
    snapshot: (work) => driver.snapshot(work),
    close: () => driver.close(),
  };
  return { driver: recorded, reads };
}

describe('state reads grouped on postgres', { skip: pg?.skip }, () => {
  after(() => pg?.cleanup());

  test('a wave of reads of several shapes: each gets its own state, in fewer statements', async () => {
    const url = (await pg?.fresh()) as string;
    const { driver, reads } = recordingReads(new PostgresDriver(url));
    const store = await SqlStore.open(driver, url);
    try {
      const agents = ['scaler', 'janitor', 'auditor'] as const;
      for (const [k, name] of agents.entries())
        for (let i = 0; i <= k * 2; i++) {
          const effects: Effect[] = [
            { kind: 'mutation.record', agent: name },
            ...(i % 2 ? [{ kind: 'violation.record' as const, agent: name, rule: 'boundary/rule' as const }] : []),
            {
              kind: 'budget.consume',
              agent: name,
              budgetId: `${name}/hourly`,
              windowStart: Math.floor(NOW / HOUR) * HOUR,
              windowMs: HOUR,
              objectKey: objectKey(action(name, i, false).target),
            },
            {
              kind: 'field.record',
              objectKey: `apps/deployments/shop/web-${i % 2}`,
              field: 'spec.replicas',
              value: `${i}`,
              actor: name,
            },
            { kind: 'chain.record', chainId: `chain-${name}`, parent: 'call-0', callee: `${name}-tool-${i}` },
          ];
          const r = await store.commit(
            { v: 1, time: new Date(NOW).toISOString(), kind: 'decision', agent: name },
            effects,
            NOW - i,
          );
          assert.equal(r.ok, true);
        }
      const wave = agents.flatMap((name, k) =>
        Array.from({ length: GROUP_MAX + 3 }, (_, i) => {
          const n = needs(name, k === 1 ? 'oscillation' : 'budget');
          return { n, a: action(name, i, i % 3 === 0) };
        }),
      );
      const alone: unknown[][] = [];
      for (const { n, a } of wave) alone.push(answers(await store.stateFor(n, a, NOW), n, a));
      const before = reads.length;
      const together = await Promise.all(wave.map(({ n, a }) => store.stateFor(n, a, NOW)));
      assert.deepEqual(
        together.map((s, i) => answers(s, wave[i]?.n as AgentStateNeeds, wave[i]?.a as Action)),
        alone,
      );
      const statements = reads.slice(before);
      assert.ok(statements.length < wave.length / 2, `${statements.length} statements for ${wave.length} reads`);
      assert.ok(statements.every((s) => !s.includes(`_${GROUP_MAX} `) && !s.includes(`_${GROUP_MAX},`)));
      assert.ok(statements.some((s) => s.includes('AS kill_1')));
    } finally {
      await store.close();
    }
  });

  test('attacker: a read whose values PostgreSQL refuses fails alone, not the reads grouped with it', async () => {
    const url = (await pg?.fresh()) as string;
    const { driver, reads } = recordingReads(new PostgresDriver(url));
    const store = await SqlStore.open(driver, url);
    try {
      const n = needs('scaler', 'budget');
      const wave = Array.from({ length: 5 }, (_, i) => action('scaler', i, false));
      // A NUL in a text parameter: PostgreSQL refuses the whole statement it is in.
      const poisoned = { ...action('scaler', 9, false), target: { ...wave[0]?.target, name: 'web\u0000x' } } as Action;
      const before = reads.length;
      const settled = await Promise.allSettled([...wave, poisoned].map((a) => store.stateFor(n, a, NOW)));
      assert.ok(
        reads.slice(before).some((s) => s.includes('AS kill_5')),
        'the six were read together first',
      );
      assert.deepEqual(
        settled.map((r) => r.status),
        ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected'],
      );
      for (const [i, r] of settled.slice(0, 5).entries())
        assert.deepEqual(
          answers((r as PromiseFulfilledResult<StateView>).value, n, wave[i] as Action),
          answers(await store.stateFor(n, wave[i] as Action, NOW), n, wave[i] as Action),
        );
    } finally {
      await store.close();
    }
  });
});
