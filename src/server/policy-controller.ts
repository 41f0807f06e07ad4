// Reconciles requested policy (a directory or the cluster's Agent objects) into enforced policy.
// "Spec is a request, status is what is enforced": a first registration and any narrowing take
// effect at once; a widening becomes a boundary-expansion request, and the last approved spec
// stays enforced until a human approves.
import { digestOf } from '../common/digest.ts';
import { type CompiledPolicy, compilePolicy } from '../policy/compile.ts';
import { wideningChanges } from '../policy/boundary-diff.ts';
import type { PolicyProblem } from '../policy/errors.ts';
import type { Located, PolicyDocuments } from '../policy/load.ts';
import type { AgentDocument, AgentSpec } from '../policy/schema.ts';
import type { Store } from '../store/store.ts';

export interface PolicyControllerEvents {
  onPolicy(policy: CompiledPolicy): void;
  onProblems(problems: readonly PolicyProblem[], source: string): void;
  onExpansionRequested(req: { id: string; agent: string; changes: readonly string[] }): void;
}

export class PolicyController {
  readonly #store: Store;
  readonly #events: PolicyControllerEvents;
  #requested: PolicyDocuments | undefined;
  #source = 'policy';
  #queue: Promise<unknown> = Promise.resolve();
  #current: CompiledPolicy | undefined;

  constructor(store: Store, events: PolicyControllerEvents) {
    this.#store = store;
    this.#events = events;
  }

  get policy(): CompiledPolicy | undefined {
    return this.#current;
  }

  /** New requested documents from a source. Applied one at a time, in arrival order. */
  submit(docs: PolicyDocuments & { problems?: readonly PolicyProblem[] }, source: string): Promise<void> {
    const run = this.#queue.then(() => this.#apply(docs, source));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Re-derive the enforced policy, e.g. after an expansion was approved. */
  refresh(): Promise<void> {
    return this.#requested ? this.submit(this.#requested, this.#source) : Promise.resolve();
  }

  async #apply(docs: PolicyDocuments & { problems?: readonly PolicyProblem[] }, source: string): Promise<void> {
    const parseErrors = (docs.problems ?? []).filter((p) => p.severity === 'error');
    const requestedCheck = compilePolicy(docs);
    if (parseErrors.length || !requestedCheck.policy) {
      // Bad policy input changes nothing: the last good policy stays in force.
      this.#events.onProblems([...parseErrors, ...requestedCheck.problems], source);
      return;
    }
    this.#requested = docs;
    this.#source = source;
    const enforced: Located<AgentDocument>[] = [];
    const now = Date.now();
    for (const loc of docs.agents) {
      const name = loc.doc.metadata.name;
      const requested = loc.doc.spec;
      const current = await this.#store.enforcedAgent(name);
      if (!current) {
        await this.#store.enforceSpec(name, requested, { by: source, reason: 'first registration' }, now);
        enforced.push(loc);
        continue;
      }
      const currentSpec = current.spec as AgentSpec;
      if (current.specDigest === digestOf(requested)) {
        enforced.push(loc);
        continue;
      }
      const changes = wideningChanges(currentSpec, requested);
      if (changes.length === 0) {
        await this.#store.enforceSpec(name, requested, { by: source, reason: 'narrowing or neutral change' }, now);
        enforced.push(loc);
        continue;
      }
      enforced.push({ ...loc, doc: { ...loc.doc, spec: currentSpec } });
      const diffDigest = digestOf({ from: current.specDigest, to: digestOf(requested), changes });
      const pending = await this.#store.expansions({ status: 'pending', agent: name });
      if (!pending.some((p) => p.diffDigest === diffDigest)) {
        const r = await this.#store.requestExpansion({ agent: name, requestedSpec: requested, diffDigest, by: source, summary: changes.join('; ') }, now);
        this.#events.onExpansionRequested({ id: r.id, agent: name, changes });
      }
    }
    const compiled = compilePolicy({ agents: enforced, governance: docs.governance });
    if (!compiled.policy) {
      this.#events.onProblems(compiled.problems, source);
      return;
    }
    this.#current = compiled.policy;
    this.#events.onPolicy(compiled.policy);
  }
}
