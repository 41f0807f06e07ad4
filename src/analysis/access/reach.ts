// What one agent reaches: a breadth-first walk of the graph from the agent, so every node's
// recorded parent lies on a shortest witness path. The walk runs over node numbers and flat
// arrays: a cluster-wide reach is tens of thousands of nodes, for each of hundreds of agents.
// Dominators of the reach graph (every path from the agent to a node passes its dominators) say
// whether a cut on a path removes what lies behind it.
import type { AccessGraph, GraphEdge } from './graph.ts';
import type { GrantedRule } from './rbac-index.ts';

export interface ReachedRule {
  readonly rule: GrantedRule;
  /** The node that holds the rule (a principal, a tool, a synthetic stand-in). */
  readonly owner: string;
}

// One stamp array per graph: seen[rule id] === this walk's number ⇔ met in this walk; hits counts meetings.
const stamps = new WeakMap<AccessGraph, { walk: number; seen: Int32Array; hits: Int32Array; offset: Int32Array }>();

function grow(a: Int32Array, need: number, fill = 0): Int32Array {
  if (need < a.length) return a;
  const b = new Int32Array(Math.max(need + 1, a.length * 2));
  if (fill !== 0) b.fill(fill);
  b.set(a);
  return b;
}

export class AgentReach {
  readonly agent: string;
  readonly graph: AccessGraph;
  /** Node numbers in the order reached, the agent first. */
  readonly order: number[] = [];
  /** Every rule reached, once, in the order met… */
  readonly rules: GrantedRule[] = [];
  /** …and the number of the first node holding it. */
  readonly ruleOwner: number[] = [];
  /** Rules met more than once (held by several reached nodes), with how often. */
  readonly ruleHits = new Map<number, number>();
  /** How often each reached rule was met, aligned with `rules`. */
  hits: Int32Array = new Int32Array(0);
  // position[node] = BFS position + 1 (0: not reached); parent[node] = parent node (-1: root).
  #position: Int32Array;
  #parent: Int32Array;
  // Which of the parent's edges led here (an index into graph.edgesAt(parent)).
  #parentEdge: Int32Array;
  // Further holders of rules met more than once: (rule offset, holder node) pairs.
  readonly #extraOffset: number[] = [];
  readonly #extraHolder: number[] = [];
  #extras?: { start: Int32Array; holders: Int32Array };
  #idom?: Int32Array;

  constructor(graph: AccessGraph, agent: string) {
    this.graph = graph;
    this.agent = agent;
    this.#position = new Int32Array(Math.max(1024, graph.size + 1));
    this.#parent = new Int32Array(Math.max(1024, graph.size + 1));
    this.#parentEdge = new Int32Array(Math.max(1024, graph.size + 1));
    this.#walk();
  }

  #walk(): void {
    const { graph } = this;
    let stamp = stamps.get(graph);
    if (!stamp) {
      const size = Math.max(1024, graph.index.ruleIds.next * 2);
      stamp = { walk: 0, seen: new Int32Array(size), hits: new Int32Array(size), offset: new Int32Array(size) };
      stamps.set(graph, stamp);
    }
    const walk = ++stamp.walk;
    // Locals, not fields, in the hot loop.
    const order = this.order;
    const rules = this.rules;
    const owners = this.ruleOwner;
    let parentEdge = this.#parentEdge;
    let seen = stamp.seen;
    let hits = stamp.hits;
    let offsetOf = stamp.offset;
    const extraOffset = this.#extraOffset;
    const extraHolder = this.#extraHolder;
    let position = this.#position;
    let parent = this.#parent;
    const root = graph.indexOf(`agent:${this.agent}`);
    position = grow(position, root);
    parent = grow(parent, root);
    order.push(root);
    position[root] = 1;
    parent[root] = -1;
    for (let i = 0; i < order.length; i++) {
      const n = order[i] as number;
      const held = graph.rulesAt(n);
      for (let k = 0; k < held.length; k++) {
        const r = held[k] as GrantedRule;
        const id = r.id;
        if (id >= seen.length) {
          seen = grow(seen, id);
          hits = grow(hits, id);
          offsetOf = grow(offsetOf, id);
        }
        if (seen[id] === walk) {
          hits[id] = (hits[id] as number) + 1;
          extraOffset.push(offsetOf[id] as number);
          extraHolder.push(n);
          continue;
        }
        seen[id] = walk;
        hits[id] = 1;
        offsetOf[id] = rules.length;
        rules.push(r);
        owners.push(n);
      }
      const edges = graph.edgesAt(n);
      for (let k = 0; k < edges.length; k++) {
        const e = edges[k] as GraphEdge;
        const t = e.toIndex;
        if (t >= position.length) {
          position = grow(position, t);
          parent = grow(parent, t);
          parentEdge = grow(parentEdge, t);
        }
        if (position[t] !== 0) continue;
        order.push(t);
        position[t] = order.length;
        parent[t] = n;
        parentEdge[t] = k;
      }
    }
    stamp.seen = seen;
    stamp.hits = hits;
    stamp.offset = offsetOf;
    this.#position = position;
    this.#parent = parent;
    this.#parentEdge = parentEdge;
    this.hits = new Int32Array(this.rules.length);
    this.rules.forEach((r, i) => {
      const h = stamp.hits[r.id] as number;
      this.hits[i] = h;
      if (h > 1) this.ruleHits.set(r.id, h);
    });
  }

  get size(): number {
    return this.order.length;
  }

  reachedIndex(n: number): boolean {
    return n < this.#position.length && this.#position[n] !== 0;
  }

  has(id: string): boolean {
    return this.reachedIndex(this.graph.indexOf(id));
  }

  /** Node ids in the order reached. */
  nodeIds(): string[] {
    return this.order.map((n) => this.graph.idAt(n));
  }

  /** Every reached node holding the rule at this offset (node numbers), the first one first. */
  holdersOf(ruleOffset: number): number[] {
    const first = this.ruleOwner[ruleOffset] as number;
    if (this.#extraOffset.length === 0) return [first];
    if (!this.#extras) {
      const n = this.rules.length;
      const start = new Int32Array(n + 1);
      for (const o of this.#extraOffset) start[o + 1] = (start[o + 1] as number) + 1;
      for (let i = 1; i <= n; i++) start[i] = (start[i] as number) + (start[i - 1] as number);
      const fill = start.slice(0, n);
      const holders = new Int32Array(this.#extraOffset.length);
      this.#extraOffset.forEach((o, k) => {
        holders[(fill[o] as number)++] = this.#extraHolder[k] as number;
      });
      this.#extras = { start, holders };
    }
    const { start, holders } = this.#extras;
    const out = [first];
    for (let k = start[ruleOffset] as number; k < (start[ruleOffset + 1] as number); k++)
      out.push(holders[k] as number);
    return out;
  }

  ownerId(ruleOffset: number): string {
    return this.graph.idAt(this.ruleOwner[ruleOffset] as number);
  }

  reachedRule(ruleOffset: number): ReachedRule {
    return { rule: this.rules[ruleOffset] as GrantedRule, owner: this.ownerId(ruleOffset) };
  }

  parentOf(id: string): { from: string; edge: GraphEdge } | undefined {
    const n = this.graph.indexOf(id);
    if (!this.reachedIndex(n) || this.#parent[n] === -1) return undefined;
    return { from: this.graph.idAt(this.#parent[n] as number), edge: this.#edgeInto(n) };
  }

  #edgeInto(n: number): GraphEdge {
    return this.graph.edgesAt(this.#parent[n] as number)[this.#parentEdge[n] as number] as GraphEdge;
  }

  /** The edges from the agent to a node, in order. */
  pathTo(id: string): { from: string; edge: GraphEdge }[] {
    const out: { from: string; edge: GraphEdge }[] = [];
    for (
      let n = this.graph.indexOf(id);
      this.reachedIndex(n) && this.#parent[n] !== -1;
      n = this.#parent[n] as number
    ) {
      out.push({ from: this.graph.idAt(this.#parent[n] as number), edge: this.#edgeInto(n) });
    }
    return out.reverse();
  }

  /**
   * Immediate dominators by BFS position (Cooper, Harvey and Kennedy's iterative algorithm).
   * Breadth-first positions serve as the numbering: a node's dominators are reached before it.
   */
  #dominators(): Int32Array {
    if (this.#idom) return this.#idom;
    const n = this.order.length;
    // Predecessors by position, in compressed rows. Every edge of a reached node leads to a reached node.
    const position = this.#position;
    const order = this.order;
    const count = new Int32Array(n + 1);
    for (let p = 0; p < n; p++) {
      const edges = this.graph.edgesAt(order[p] as number);
      for (let k = 0; k < edges.length; k++) {
        const row = position[(edges[k] as GraphEdge).toIndex] as number; // position + 1: one row down for the prefix sum
        count[row] = (count[row] as number) + 1;
      }
    }
    for (let i = 1; i <= n; i++) count[i] = (count[i] as number) + (count[i - 1] as number);
    const preds = new Int32Array(count[n] as number);
    const fill = count.slice(0, n);
    for (let p = 0; p < n; p++) {
      const edges = this.graph.edgesAt(order[p] as number);
      for (let k = 0; k < edges.length; k++) {
        const t = (position[(edges[k] as GraphEdge).toIndex] as number) - 1;
        preds[(fill[t] as number)++] = p;
      }
    }
    const idom = new Int32Array(n).fill(-1);
    idom[0] = 0;
    const intersect = (a: number, b: number) => {
      let x = a;
      let y = b;
      while (x !== y) {
        while (x > y) x = idom[x] as number;
        while (y > x) y = idom[y] as number;
      }
      return x;
    };
    for (let changed = true; changed; ) {
      changed = false;
      for (let v = 1; v < n; v++) {
        let best = -1;
        for (let k = count[v] as number; k < (count[v + 1] as number); k++) {
          const p = preds[k] as number;
          if (idom[p] === -1) continue;
          best = best === -1 ? p : intersect(p, best);
        }
        if (best !== -1 && idom[v] !== best) {
          idom[v] = best;
          changed = true;
        }
      }
    }
    this.#idom = idom;
    this.#preds = { count, preds };
    return idom;
  }
  #preds?: { count: Int32Array; preds: Int32Array };

  #pos(id: string): number {
    const n = this.graph.indexOf(id);
    return this.reachedIndex(n) ? (this.#position[n] as number) - 1 : -1;
  }

  /** The nearest node dominating both (node numbers); every path to either passes it. */
  commonDominator(a: number, b: number): number {
    const idom = this.#dominators();
    let x = (this.#position[a] as number) - 1;
    let y = (this.#position[b] as number) - 1;
    while (x !== y) {
      while (x > y) x = idom[x] as number;
      while (y > x) y = idom[y] as number;
    }
    return this.order[x] as number;
  }

  /** Whether every path from the agent to `node` passes through `through`. */
  dominates(through: string, node: string): boolean {
    const idom = this.#dominators();
    const t = this.#pos(through);
    let v = this.#pos(node);
    if (t < 0 || v < 0) return false;
    while (v > t) v = idom[v] as number;
    return v === t;
  }

  /** Whether removing the edge from → to cuts every path from the agent to `node`. */
  edgeSeparates(from: string, to: string, node: string): boolean {
    if (!this.dominates(to, node)) return false;
    const { count, preds } = this.#preds as { count: Int32Array; preds: Int32Array };
    const t = this.#pos(to);
    const f = this.#pos(from);
    // Every other way into `to` must itself come through `to` (a cycle back), or the cut is bypassed.
    for (let k = count[t] as number; k < (count[t + 1] as number); k++) {
      const p = preds[k] as number;
      if (p !== f && !this.dominates(to, this.graph.idAt(this.order[p] as number))) return false;
    }
    return true;
  }
}

export function reachOf(graph: AccessGraph, agent: string): AgentReach {
  return new AgentReach(graph, agent);
}
