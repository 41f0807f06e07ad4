// One chain (trace id) as a tree: a node per agent at its place in the chain (its path), each
// node's ledger entries as hops, a tool call's decisions under the call, and the breaker
// transitions the chain caused. Built from the ledger alone.
import type { LedgerEntry, Store } from '../store/store.ts';

export interface ChainHop {
  readonly index: number;
  readonly time: string;
  /** Milliseconds since the chain's first entry. */
  readonly atMs: number;
  readonly kind: string;
  readonly source?: string;
  readonly agent?: string;
  readonly tool?: string;
  readonly verb?: string;
  readonly target?: string;
  readonly decision?: string;
  readonly refused: boolean;
  readonly rules: readonly string[];
  readonly message?: string;
  /** What the gateway measured for a tool call, when it did. */
  readonly latencyMs?: number;
  readonly status?: string;
  readonly approvalRequest?: string;
  /** A tool call's own decisions. */
  readonly decisions: readonly ChainHop[];
}

export interface ChainNode {
  readonly agent: string;
  readonly depth: number;
  readonly path: readonly string[];
  readonly hops: readonly ChainHop[];
  readonly children: ChainNode[];
}

export interface ChainBreaker {
  readonly index: number;
  readonly time: string;
  readonly scope: string;
  readonly key: string;
  readonly from?: string;
  readonly to?: string;
  readonly rule?: string;
  readonly message?: string;
  /** The chain entry that tripped it. */
  readonly cause?: number;
}

export interface ChainView {
  readonly id: string;
  readonly entries: number;
  readonly refused: number;
  readonly roots: readonly ChainNode[];
  readonly breakers: readonly ChainBreaker[];
  /** True when the chain has more entries than one view holds. */
  readonly truncated: boolean;
}

const MAX_ENTRIES = 1000;
const SEP = '\u0000';

function targetText(t: LedgerEntry['leaf']['target']): string | undefined {
  if (!t) return undefined;
  const res = [t.group, t.resource].filter(Boolean).join('/') + (t.subresource ? `/${t.subresource}` : '');
  return `${res} ${[t.namespace, t.name].filter(Boolean).join('/')}`.trim();
}

function hopOf(e: LedgerEntry, start: number, decisions: ChainHop[] = []): ChainHop {
  const l = e.leaf;
  const d = (l.detail ?? {}) as { latencyMs?: unknown; status?: unknown };
  return {
    index: e.index,
    time: l.time,
    atMs: Date.parse(l.time) - start,
    kind: l.kind,
    source: l.source,
    agent: l.agent,
    tool: l.tool ? `${l.tool.server}/${l.tool.name}` : undefined,
    verb: l.verb,
    target: targetText(l.target),
    decision: l.decision,
    refused: l.decision === 'deny' || l.kind === 'proposal',
    rules: l.rules ?? [],
    message: l.message,
    latencyMs: typeof d.latencyMs === 'number' ? d.latencyMs : undefined,
    status: typeof d.status === 'string' ? d.status : undefined,
    approvalRequest: l.approvalRequest,
    decisions,
  };
}

/** Hops of one node: a tool call's decision entries move under the call that made them. */
function hopsOf(entries: readonly LedgerEntry[], start: number): ChainHop[] {
  const byIndex = new Map(entries.map((e) => [e.index, e]));
  const nested = new Set<number>();
  const hops: ChainHop[] = [];
  for (const e of entries) {
    if (e.leaf.kind !== 'tool-result') continue;
    const ids = ((e.leaf.detail as { decisions?: unknown } | undefined)?.decisions ?? []) as unknown[];
    const own = ids.flatMap((i) => (typeof i === 'number' && byIndex.has(i) ? [byIndex.get(i) as LedgerEntry] : []));
    for (const o of own) nested.add(o.index);
    hops.push(
      hopOf(
        e,
        start,
        own.map((o) => hopOf(o, start)),
      ),
    );
  }
  for (const e of entries) if (e.leaf.kind !== 'tool-result' && !nested.has(e.index)) hops.push(hopOf(e, start));
  return hops.sort((a, b) => (a.decisions[0]?.index ?? a.index) - (b.decisions[0]?.index ?? b.index));
}

export function chainTree(entries: readonly LedgerEntry[]): ChainNode[] {
  const start = Math.min(...entries.map((e) => Date.parse(e.leaf.time)));
  const groups = new Map<string, LedgerEntry[]>();
  for (const e of entries) {
    const c = e.leaf.chain;
    if (!c) continue;
    const key = [...c.path, e.leaf.agent ?? '?'].join(SEP);
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  const nodes = new Map<string, ChainNode>();
  for (const [key, es] of groups) {
    const c = es[0]?.leaf.chain;
    nodes.set(key, {
      agent: es[0]?.leaf.agent ?? '?',
      depth: c?.depth ?? 0,
      path: c?.path ?? [],
      hops: hopsOf(es, start),
      children: [],
    });
  }
  const roots: ChainNode[] = [];
  for (const n of nodes.values()) {
    const parent = n.path.length > 0 ? nodes.get(n.path.join(SEP)) : undefined;
    if (parent) parent.children.push(n);
    else roots.push(n);
  }
  return roots;
}

async function breakersOf(store: Store, id: string, entries: readonly LedgerEntry[]): Promise<ChainBreaker[]> {
  if (entries.length === 0) return [];
  const indexes = new Set(entries.map((e) => e.index));
  const after = await store.queryLedger({ kind: 'breaker', fromIndex: entries[0]?.index, limit: MAX_ENTRIES });
  return after.flatMap((e) => {
    const d = (e.leaf.detail ?? {}) as { scope?: string; key?: string; from?: string; to?: string; cause?: number };
    const ours = (d.cause !== undefined && indexes.has(d.cause)) || (d.scope === 'chain' && d.key === id);
    return ours
      ? [
          {
            index: e.index,
            time: e.leaf.time,
            scope: d.scope ?? '?',
            key: d.key ?? '?',
            from: d.from,
            to: d.to,
            rule: e.leaf.rules?.[0],
            message: e.leaf.message,
            cause: d.cause,
          },
        ]
      : [];
  });
}

export async function chainView(store: Store, id: string): Promise<ChainView | undefined> {
  const entries = await store.queryLedger({ chain: id, limit: MAX_ENTRIES + 1 });
  if (entries.length === 0) return undefined;
  const kept = entries.slice(0, MAX_ENTRIES);
  return {
    id,
    entries: kept.length,
    refused: kept.filter((e) => e.leaf.decision === 'deny' || e.leaf.kind === 'proposal').length,
    roots: chainTree(kept),
    breakers: await breakersOf(store, id, kept),
    truncated: entries.length > MAX_ENTRIES,
  };
}
