// Decisions' state reads, grouped on PostgreSQL. Every decision reads its state in one statement
// (snapshot.ts), and on PostgreSQL that statement is a round trip: the client's protocol work and two
// context switches, as much as the reading itself. Under load, decisions come in waves (a group commit
// answers a batch of them at once, and their next requests arrive together), so the reads asked for in
// one turn of the event loop that share a statement text go as one statement: their select lists side
// by side, each column suffixed with the read's place. Reads of different shapes (budgets, oscillation
// fields, a chain) go apart. A statement never reads more than GROUP_MAX states, so a shape has at most
// that many texts to prepare.
import type { Action } from '../../engine/action.ts';
import type { StateView } from '../../engine/state.ts';
import type { AgentStateNeeds } from '../store.ts';
import type { Dialect, SqlRunner } from './driver.ts';
import { type Part, selectList, stateFrom, stateParts } from './snapshot.ts';

export const GROUP_MAX = 8;

interface Pending {
  readonly agent: AgentStateNeeds | undefined;
  readonly action: Action;
  readonly now: number;
  readonly parts: Part[];
  readonly resolve: (state: StateView) => void;
  readonly reject: (err: unknown) => void;
}

export class GroupedStateReads {
  readonly #db: SqlRunner;
  readonly #dialect: Dialect;
  #pending: Pending[] = [];

  constructor(db: SqlRunner, dialect: Dialect) {
    this.#db = db;
    this.#dialect = dialect;
  }

  read(agent: AgentStateNeeds | undefined, action: Action, now: number): Promise<StateView> {
    return new Promise((resolve, reject) => {
      const parts = stateParts(this.#dialect, agent, action, now);
      if (this.#pending.length === 0) setImmediate(() => this.#flush());
      this.#pending.push({ agent, action, now, parts, resolve, reject });
    });
  }

  #flush(): void {
    const byText = new Map<string, Pending[]>();
    for (const p of this.#pending.splice(0)) {
      const text = selectList(p.parts);
      const group = byText.get(text);
      if (group) group.push(p);
      else byText.set(text, [p]);
    }
    for (const group of byText.values())
      for (let i = 0; i < group.length; i += GROUP_MAX) void this.#readTogether(group.slice(i, i + GROUP_MAX));
  }

  async #readTogether(group: readonly Pending[]): Promise<void> {
    try {
      const [row = {}] = await this.#db.query<Record<string, unknown>>(
        `SELECT ${group.map((p, i) => selectList(p.parts, group.length > 1 ? `_${i}` : '')).join(', ')}`,
        group.flatMap((p) => p.parts.flatMap((part) => part.params)),
      );
      group.forEach((p, i) => {
        try {
          p.resolve(stateFrom(group.length > 1 ? unsuffixed(row, p.parts, `_${i}`) : row, p.agent, p.action, p.now));
        } catch (err) {
          p.reject(err);
        }
      });
    } catch (err) {
      // One read's values can fail the statement (PostgreSQL refuses a NUL in text): read each alone, so
      // only that read fails, as a group commit's batch-mates are run one by one (write-batch.ts).
      if (group.length === 1) (group[0] as Pending).reject(err);
      else for (const p of group) await this.#readTogether([p]);
    }
  }
}

function unsuffixed(row: Record<string, unknown>, parts: readonly Part[], suffix: string): Record<string, unknown> {
  return Object.fromEntries(parts.map((p) => [p.column, row[`${p.column}${suffix}`]]));
}
