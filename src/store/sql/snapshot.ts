import { type Action, isMutation, objectKey } from '../../engine/action.ts';
import type { ApprovalRecord, BreakerState, BreakerStatus, BudgetUsage, FieldChange } from '../../engine/state.ts';
import { type Prefetched, PrefetchedState } from '../prefetched-state.ts';
import type { AgentStateNeeds } from '../store.ts';
import type { Dialect, SqlRunner } from './driver.ts';
import { eventsSince } from './event-counts.ts';

/** One column of the state statement: a scalar subquery and its parameters. */
export interface Part {
  readonly column: string;
  readonly sql: string;
  readonly params: readonly unknown[];
}

const APPROVAL_PAIRS =
  "'id', id, 'agent', agent, 'actionDigest', action_digest, 'status', status, 'expiresAt', expires_at, 'usesLeft', uses_left, 'approvedBy', approved_by";

/** Builds the single statement that reads everything one decision needs: one round trip. */
export function stateParts(d: Dialect, agent: AgentStateNeeds | undefined, action: Action, now: number): Part[] {
  const out: Part[] = [
    {
      column: 'kill',
      sql: d.jsonObject("'engaged', engaged, 'reason', reason", 'kill_switch WHERE id = 1'),
      params: [],
    },
  ];
  if (!agent) return out;
  const chain = action.chain;
  out.push({
    column: 'breakers',
    sql: d.jsonArray(
      "'scope', scope, 'key', key, 'state', state, 'reason', reason, 'since', since",
      `breakers WHERE (scope = 'agent' AND key = ?)${chain ? " OR (scope = 'chain' AND key = ?)" : ''}`,
    ),
    params: chain ? [agent.name, chain.id] : [agent.name],
  });
  const key = objectKey(action.target);
  if (isMutation(action.verb) && agent.budgets.length > 0) {
    const windows = agent.budgets.map((b) => [b.id, Math.floor(now / b.windowMs) * b.windowMs]);
    const any = agent.budgets.map(() => '(budget_id = ? AND window_start = ?)').join(' OR ');
    out.push({
      column: 'budgets',
      sql: d.jsonArray(
        "'id', budget_id, 'start', window_start, 'mutations', mutations, 'objects', objects",
        `budget_counters WHERE ${any}`,
      ),
      params: windows.flat(),
    });
    out.push({
      column: 'budget_objects',
      sql: d.jsonArray("'id', budget_id, 'start', window_start", `budget_objects WHERE object_key = ? AND (${any})`),
      params: [key, ...windows.flat()],
    });
  }
  out.push({
    column: 'approvals',
    sql: d.jsonArray(
      APPROVAL_PAIRS,
      `approvals WHERE id = ? OR (agent = ? AND status = 'approved' AND expires_at > ? AND uses_left > 0)`,
    ),
    params: [action.approvalId ?? '', agent.name, now],
  });
  out.push(eventsSince(d, 'violations', agent.name, now - agent.breakerWindowMs));
  out.push(eventsSince(d, 'mutations', agent.name, now - agent.rateWindowMs));
  const osc = agent.oscillation;
  if (osc && osc.fields.length > 0) {
    out.push({
      column: 'fields',
      sql: d.jsonArray(
        "'seq', seq, 'field', field, 'value', value, 'at', at, 'actor', actor",
        `field_changes WHERE object_key = ? AND field IN (${osc.fields.map(() => '?').join(', ')}) AND at >= ?`,
      ),
      params: [key, ...osc.fields, now - osc.windowMs],
    });
  }
  if (chain?.parentActionId !== undefined) {
    out.push({
      column: 'callees',
      sql: d.jsonArray("'seq', seq, 'callee', callee", 'chain_calls WHERE chain_id = ? AND parent = ?'),
      params: [chain.id, chain.parentActionId],
    });
  }
  return out;
}

function parse<T>(text: unknown): T[] {
  return typeof text === 'string' ? (JSON.parse(text) as T[]) : [];
}

/**
 * Rows in the order they were written. Sorted here, not by the statement: SQLite (built with STAT4,
 * as better-sqlite3 is) compiles a statement with an ORDER BY over bound values again whenever the
 * values change, so one ORDER BY in a subquery made every decision of a chained call parse and plan
 * the whole state statement anew (160 µs against 15, test/store/state-statement.test.ts).
 */
function inWriteOrder<T extends { seq: number }>(rows: T[]): T[] {
  return rows.sort((a, b) => a.seq - b.seq);
}

/** The select list of `ps`, each column named with `suffix` (one statement may read several decisions' states). */
export function selectList(ps: readonly Part[], suffix = ''): string {
  return ps.map((p) => `${p.sql} AS ${p.column}${suffix}`).join(', ');
}

export async function readState(
  db: SqlRunner,
  d: Dialect,
  agent: AgentStateNeeds | undefined,
  action: Action,
  now: number,
): Promise<PrefetchedState> {
  const ps = stateParts(d, agent, action, now);
  const [row] = await db.query<Record<string, unknown>>(
    `SELECT ${selectList(ps)}`,
    ps.flatMap((p) => p.params),
  );
  return stateFrom(row ?? {}, agent, action, now);
}

/** The state one decision reads, from its statement's row (its columns, unsuffixed). */
export function stateFrom(
  r: Record<string, unknown>,
  agent: AgentStateNeeds | undefined,
  action: Action,
  now: number,
): PrefetchedState {
  const kill =
    typeof r.kill === 'string' ? (JSON.parse(r.kill) as { engaged: number; reason: string | null }) : undefined;

  const breakers = new Map<string, BreakerStatus>();
  if (agent) {
    breakers.set(`agent:${agent.name}`, { state: 'closed' });
    if (action.chain) breakers.set(`chain:${action.chain.id}`, { state: 'closed' });
  }
  for (const b of parse<{ scope: string; key: string; state: BreakerState; reason: string | null; since: number }>(
    r.breakers,
  )) {
    breakers.set(`${b.scope}:${b.key}`, { state: b.state, reason: b.reason ?? undefined, since: b.since });
  }

  const budgets = new Map<string, BudgetUsage>();
  if (agent && r.budgets !== undefined) {
    const key = objectKey(action.target);
    const counters = parse<{ id: string; start: number; mutations: number; objects: number }>(r.budgets);
    const touched = parse<{ id: string; start: number }>(r.budget_objects);
    for (const b of agent.budgets) {
      const start = Math.floor(now / b.windowMs) * b.windowMs;
      const c = counters.find((x) => x.id === b.id && x.start === start);
      const includesObject = touched.some((x) => x.id === b.id && x.start === start);
      budgets.set(`${b.id}@${start}@${key}`, {
        mutations: c?.mutations ?? 0,
        distinctObjects: c?.objects ?? 0,
        includesObject,
      });
    }
  }

  const approvals = parse<Omit<ApprovalRecord, 'approvedBy'> & { approvedBy: string }>(r.approvals).map(
    (a): ApprovalRecord => ({ ...a, approvedBy: JSON.parse(a.approvedBy) as string[] }),
  );

  const violations = new Map<string, number>();
  const mutations = new Map<string, number>();
  const fields = new Map<string, FieldChange[]>();
  const callees = new Map<string, string[]>();
  if (agent) {
    violations.set(`${agent.name}@${now - agent.breakerWindowMs}`, Number(r.violations ?? 0));
    mutations.set(`${agent.name}@${now - agent.rateWindowMs}`, Number(r.mutations ?? 0));
    const osc = agent.oscillation;
    if (osc) {
      const key = objectKey(action.target);
      const changes = inWriteOrder(
        parse<{ seq: number; field: string; value: string; at: number; actor: string }>(r.fields),
      );
      for (const f of osc.fields) {
        fields.set(
          `${key}#${f}@${now - osc.windowMs}`,
          changes.filter((c) => c.field === f).map((c) => ({ value: c.value, at: c.at, actor: c.actor })),
        );
      }
    }
    const parent = action.chain?.parentActionId;
    if (action.chain && parent !== undefined) {
      callees.set(
        `${action.chain.id}/${parent}`,
        inWriteOrder(parse<{ seq: number; callee: string }>(r.callees)).map((c) => c.callee),
      );
    }
  }

  const p: Prefetched = {
    kill: kill?.engaged ? { engaged: true, reason: kill.reason ?? undefined } : { engaged: false },
    breakers,
    budgets,
    approvals,
    violations,
    mutations,
    fields,
    callees,
  };
  return new PrefetchedState(p);
}
