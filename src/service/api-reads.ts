// What the human API (and the console, and agents asking about themselves) may read, paged and
// filtered by who is asking (src/service/visibility.ts), with every digest keyed so that none
// over a Secret's content can be inverted by the reader (src/service/digest-key.ts).
import type { BreakerScope, Decision } from '../engine/decision.ts';
import type { ApprovalStatus } from '../engine/state.ts';
import { explainAgent } from '../policy/explain.ts';
import type { CompiledPolicy } from '../policy/compile.ts';
import type {
  ExpansionStatus,
  LedgerEntry,
  LedgerQuery,
  PageCursor,
  Store,
  StoredApproval,
  StoredProposal,
} from '../store/store.ts';
import type { DigestKey } from './digest-key.ts';
import { agentFilter, sees, type Viewer, visibilityOf } from './visibility.ts';

/** One page of a list: `next` continues it; `total` counts the whole list, not the page. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly next?: PageCursor;
  readonly total?: number;
}

export interface PageRequest {
  readonly limit: number;
  readonly after?: PageCursor;
}

const empty = <T>(): Page<T> => ({ items: [], total: 0 });

/** A breakers page ends at a scope and key, carried as `scope\nkey`. */
function breakerCursor(c: PageCursor | undefined): { scope: BreakerScope; key: string } | undefined {
  const cut = c ? c.id.indexOf('\n') : -1;
  const scope = c?.id.slice(0, cut);
  return c && (scope === 'agent' || scope === 'chain') ? { scope, key: c.id.slice(cut + 1) } : undefined;
}

export class ApiReads {
  readonly #store: Store;
  readonly #policy: () => CompiledPolicy;
  readonly #key: DigestKey;

  constructor(deps: { readonly store: Store; readonly policy: () => CompiledPolicy; readonly digestKey: DigestKey }) {
    this.#store = deps.store;
    this.#policy = deps.policy;
    this.#key = deps.digestKey;
  }

  /** Agents by name; `after.id` is the last name of the previous page. */
  async agents(viewer: Viewer, page: PageRequest) {
    const v = visibilityOf(viewer, this.#policy());
    const visible = [...this.#policy().agents.values()]
      .filter((a) => sees(v, a.name))
      .sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
    const rest = page.after ? visible.filter((a) => a.name > (page.after as PageCursor).id) : visible;
    const shown = rest.slice(0, page.limit);
    const breakers = await this.#store.breakers({ scope: 'agent' });
    const last = shown.at(-1);
    const items = shown.map((a) => ({
      name: a.name,
      owner: a.spec.owner.id,
      authorityClass: a.authorityClass,
      mode: a.mode,
      identities: a.spec.identities,
      breaker: breakers.find((b) => b.scope === 'agent' && b.key === a.name)?.state ?? 'closed',
    }));
    return {
      items,
      next: rest.length > page.limit && last ? { at: 0, id: last.name } : undefined,
      total: visible.length,
    };
  }

  /** Undefined when there is no such agent or the caller may not see it: the two look alike. */
  async agent(viewer: Viewer, name: string) {
    const policy = this.#policy();
    const a = policy.agents.get(name);
    if (!a || !sees(visibilityOf(viewer, policy), a.name)) return undefined;
    return {
      name: a.name,
      explanation: explainAgent(a, policy),
      spec: a.spec,
      enforced: await this.#store.enforcedAgent(a.name),
    };
  }

  async approvals(
    viewer: Viewer,
    filter: { readonly status?: ApprovalStatus; readonly agent?: string },
    page: PageRequest,
  ): Promise<Page<StoredApproval>> {
    const agent = agentFilter(visibilityOf(viewer, this.#policy()), filter.agent);
    if (agent === null) return empty();
    const rows = await this.#store.approvals({ status: filter.status, agent, limit: page.limit, after: page.after });
    const last = rows.at(-1);
    return {
      items: rows.map((a) => this.presentApproval(a)),
      next: rows.length === page.limit && last ? { at: last.createdAt, id: last.id } : undefined,
      total: await this.#store.count('approvals', { status: filter.status, agent }),
    };
  }

  async approval(viewer: Viewer, id: string): Promise<StoredApproval | undefined> {
    const a = await this.#store.approval(id);
    return a && sees(visibilityOf(viewer, this.#policy()), a.agent) ? this.presentApproval(a) : undefined;
  }

  async proposals(
    viewer: Viewer,
    filter: { readonly agent?: string },
    page: PageRequest,
  ): Promise<Page<StoredProposal>> {
    const agent = agentFilter(visibilityOf(viewer, this.#policy()), filter.agent);
    if (agent === null) return empty();
    const rows = await this.#store.proposals({ agent, limit: page.limit, afterSeq: page.after?.at });
    const last = rows.at(-1);
    return {
      items: rows.map((p) => ({ ...p, actionDigest: this.#key.present(p.actionDigest) })),
      next: rows.length === page.limit && last ? { at: last.seq, id: '' } : undefined,
      total: await this.#store.count('proposals', { agent }),
    };
  }

  async expansions(
    viewer: Viewer,
    filter: { readonly status?: ExpansionStatus; readonly agent?: string },
    page: PageRequest,
  ) {
    const agent = agentFilter(visibilityOf(viewer, this.#policy()), filter.agent);
    if (agent === null) return empty();
    const rows = await this.#store.expansions({ status: filter.status, agent, limit: page.limit, after: page.after });
    const last = rows.at(-1);
    return {
      items: rows,
      next: rows.length === page.limit && last ? { at: last.requestedAt, id: last.id } : undefined,
      total: await this.#store.count('expansions', { status: filter.status, agent }),
    };
  }

  /** Breakers by scope and key (an agent token: its own agent's only), and the kill switch. */
  async breakers(viewer: Viewer, page: PageRequest) {
    const v = visibilityOf(viewer, this.#policy());
    if (!v.all && v.agent === undefined) return { items: { breakers: [], killSwitch: await this.#store.killSwitch() } };
    const after = breakerCursor(page.after);
    const rows = await this.#store.breakers(
      v.all ? { limit: page.limit, after } : { scope: 'agent', key: v.agent, limit: page.limit, after },
    );
    const last = rows.at(-1);
    return {
      items: { breakers: rows, killSwitch: await this.#store.killSwitch() },
      next: rows.length === page.limit && last ? { at: 0, id: `${last.scope}\n${last.key}` } : undefined,
    };
  }

  /** Ledger entries in index order from `after.at`; an agent token reads only its own agent's. */
  async ledger(
    viewer: Viewer,
    query: Omit<LedgerQuery, 'fromIndex' | 'limit'>,
    page: PageRequest,
  ): Promise<Page<LedgerEntry>> {
    const agent = agentFilter(visibilityOf(viewer, this.#policy()), query.agent);
    if (agent === null) return { items: [] };
    const rows = await this.#store.queryLedger({ ...query, agent, fromIndex: page.after?.at, limit: page.limit });
    const last = rows.at(-1);
    return { items: rows, next: rows.length === page.limit && last ? { at: last.index + 1, id: '' } : undefined };
  }

  presentApproval(a: StoredApproval): StoredApproval {
    return { ...a, actionDigest: this.#key.present(a.actionDigest) };
  }

  /** A decision as the caller sees it: no effects (state bookkeeping), keyed digests. */
  presentDecision(d: Decision): Omit<Decision, 'effects'> {
    const { effects: _effects, ...shown } = d;
    return {
      ...shown,
      actionDigest: this.#key.present(d.actionDigest),
      ...(d.outcome === 'pending'
        ? { approval: { ...d.approval, actionDigest: this.#key.present(d.approval.actionDigest) } }
        : {}),
    } as Omit<Decision, 'effects'>;
  }
}
