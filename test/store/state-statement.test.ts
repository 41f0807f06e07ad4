// The one statement every decision reads its state with (src/store/sql/snapshot.ts). SQLite, built
// with STAT4 as better-sqlite3 is, compiles a statement with an ORDER BY (or min/max) over bound
// values again whenever the values change: one such subquery made every chained call's decision parse
// and plan the whole statement anew (160 µs against 15). So the statement orders nothing, and the
// rows that have an order are sorted after parsing. The runner below only records the statement and
// answers with rows in an order of its choosing: what is tested is the statement's text and the
// sorting, not a database (the stores' own tests read real ones on both backends).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Action } from '../../src/engine/action.ts';
import type { SqlRunner } from '../../src/store/sql/driver.ts';
import { readState } from '../../src/store/sql/snapshot.ts';
import { SqliteDriver } from '../../src/store/sqlite/driver.ts';
import type { AgentStateNeeds } from '../../src/store/store.ts';
import { tempDir } from './backends.ts';

const NOW = Date.UTC(2026, 10, 29, 12);
const action: Action = {
  source: 'mcp',
  subject: { username: 'oidc:scaler', groups: [] },
  verb: 'patch',
  target: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: 'web' },
  chain: { id: 'trace-1', depth: 2, path: ['planner', 'scaler'], parentActionId: 'call-7' },
};
const needs: AgentStateNeeds = {
  name: 'scaler',
  budgets: [{ id: 'scaler/1h', windowMs: 3_600_000 }],
  breakerWindowMs: 300_000,
  rateWindowMs: 60_000,
  oscillation: { fields: ['spec.replicas'], windowMs: 600_000 },
};

/** Records the statement; answers with the callees and field changes newest first. */
function recordingRunner(): SqlRunner & { sql: string[] } {
  const sql: string[] = [];
  return {
    sql,
    async query<T>(text: string): Promise<T[]> {
      sql.push(text);
      const fields = [3, 1, 2].map((seq) => ({
        seq,
        field: 'spec.replicas',
        value: String(seq),
        at: NOW - seq,
        actor: 'a',
      }));
      const callees = [5, 4, 9].map((seq) => ({ seq, callee: `agent-${seq}` }));
      return [{ fields: JSON.stringify(fields), callees: JSON.stringify(callees) }] as T[];
    },
  };
}

test('the state statement orders nothing in SQL, with every part a decision can need', async () => {
  const db = new SqliteDriver(`${tempDir()}/tether.db`);
  try {
    const runner = recordingRunner();
    await readState(runner, db.dialect, needs, action, NOW);
    assert.equal(runner.sql.length, 1, 'one statement');
    const text = runner.sql[0] as string;
    for (const part of ['chain_calls', 'field_changes', 'budget_counters', 'event_seconds', 'approvals', 'breakers'])
      assert.ok(text.includes(part), `the statement reads ${part}`);
    assert.doesNotMatch(text, /\bORDER\s+BY\b|\bmin\s*\(|\bmax\s*\(/i);
  } finally {
    await db.close();
  }
});

test('callees and field changes come back in the order they were written, whatever order the rows arrive in', async () => {
  const db = new SqliteDriver(`${tempDir()}/tether.db`);
  try {
    const state = await readState(recordingRunner(), db.dialect, needs, action, NOW);
    assert.deepEqual(state.chainCallees('trace-1', 'call-7'), ['agent-4', 'agent-5', 'agent-9']);
    const history = state.fieldHistory('deployments.apps:shop/web', 'spec.replicas', NOW - 600_000);
    assert.deepEqual(
      history.map((c) => c.value),
      ['1', '2', '3'],
    );
  } finally {
    await db.close();
  }
});
