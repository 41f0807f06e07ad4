// Reconciles requested policy (a directory or the cluster's Agent objects) into enforced policy.
// "Spec is a request, status is what is enforced": a first registration and any narrowing take
// effect at once; a widening becomes a boundary-expansion request, and the last approved spec
// stays enforced until a human approves. A boundary belongs to identities, not to a name: a new
// Agent claiming identities that were enforced under another (a rename) or that acted before
// starts from what those identities last had, so deleting `a` and adding a wider `b` is a widening.
import { digestOf } from '../common/digest.ts';
import { type CompiledPolicy, compilePolicy } from '../policy/compile.ts';
import { noAuthority, sharedIdentities, usernamesOf, wideningChanges } from '../policy/boundary-diff.ts';
import type { PolicyProblem } from '../policy/errors.ts';
import type { Located, PolicyDocuments } from '../policy/load.ts';
import type { AgentDocument, AgentSpec } from '../policy/schema.ts';
import type { EnforcedSpec, Store } from '../store/store.ts';

export interface PolicyControllerEvents {
  onPolicy(policy: CompiledPolicy): void;
  onProblems(problems: readonly PolicyProblem[], source: string): void;
  onExpansionRequested(req: { id: string; agent: string; changes: readonly string[] }): void;
}

/** What the controller made of one requested Agent: written back to the Agent's status in the cluster. */
export interface AgentEnforcement {
  readonly name: string;
  readonly requestedDigest: string;
  readonly enforcedDigest: string;
  /** A widening waiting for a human: its request id and what it would add. */
  readonly pendingExpansion?: { readonly id?: string; readonly changes: readonly string[] };
}

export class PolicyController {
  readonly #store: Store;
  readonly #events: PolicyControllerEvents;
  #requested: PolicyDocuments | undefined;
  #source = 'policy';
  #queue: Promise<unknown> = Promise.resolve();
  #current: CompiledPolicy | undefined;
  #enforcement: AgentEnforcement[] = [];
  readonly #reconciled: (() => void)[] = [];

  constructor(store: Store, events: PolicyControllerEvents) {
    this.#store = store;
    this.#events = events;
  }

  get policy(): CompiledPolicy | undefined {
    return this.#current;
  }

  /** Called after every reconciliation that changed the enforced policy (a source, or an approved expansion). */
  onReconciled(listener: () => void): void {
    this.#reconciled.push(listener);
  }

  /** Per requested Agent, after the last reconciliation: is what it asks for what is enforced? */
  get enforcement(): readonly AgentEnforcement[] {
    return this.#enforcement;
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
    const enforcement: AgentEnforcement[] = [];
    const now = Date.now();
    for (const loc of docs.agents) {
      const name = loc.doc.metadata.name;
      const requested = loc.doc.spec;
      let current = await this.#store.enforcedAgent(name);
      const requestedDigest = digestOf(requested);
      if (!current) {
        const inherited = await this.#inheritedBoundary(name, requested);
        if (!inherited) {
          await this.#store.enforceSpec(name, requested, { by: source, reason: 'first registration' }, now);
          enforced.push(loc);
          enforcement.push({ name, requestedDigest, enforcedDigest: requestedDigest });
          continue;
        }
        await this.#store.enforceSpec(name, inherited.spec, { by: source, reason: inherited.reason }, now);
        current = (await this.#store.enforcedAgent(name)) as EnforcedSpec;
      }
      const currentSpec = current.spec as AgentSpec;
      if (current.specDigest === requestedDigest) {
        enforced.push(loc);
        enforcement.push({ name, requestedDigest, enforcedDigest: requestedDigest });
        continue;
      }
      const changes = wideningChanges(currentSpec, requested);
      if (changes.length === 0) {
        await this.#store.enforceSpec(name, requested, { by: source, reason: 'narrowing or neutral change' }, now);
        enforced.push(loc);
        enforcement.push({ name, requestedDigest, enforcedDigest: requestedDigest });
        continue;
      }
      enforced.push({ ...loc, doc: { ...loc.doc, spec: currentSpec } });
      const diffDigest = digestOf({ from: current.specDigest, to: digestOf(requested), changes });
      const pending = await this.#store.expansions({ status: 'pending', agent: name });
      let id = pending.find((p) => p.diffDigest === diffDigest)?.id;
      if (!id) {
        id = (
          await this.#store.requestExpansion(
            { agent: name, requestedSpec: requested, diffDigest, by: source, summary: changes.join('; ') },
            now,
          )
        ).id;
        this.#events.onExpansionRequested({ id, agent: name, changes });
      }
      enforcement.push({
        name,
        requestedDigest,
        enforcedDigest: current.specDigest,
        pendingExpansion: { id, changes },
      });
    }
    const compiled = compilePolicy({ agents: enforced, governance: docs.governance });
    if (!compiled.policy) {
      this.#events.onProblems(compiled.problems, source);
      return;
    }
    this.#current = compiled.policy;
    this.#enforcement = enforcement;
    this.#events.onPolicy(compiled.policy);
    for (const l of this.#reconciled) l();
  }

  /**
   * What a new Agent's identities already had: the last enforced boundary of another Agent that
   * held them (a deleted or renamed one), or nothing when they acted without one. Undefined for
   * identities Tether has never seen: a true first registration.
   */
  async #inheritedBoundary(
    name: string,
    requested: AgentSpec,
  ): Promise<{ spec: AgentSpec; reason: string } | undefined> {
    const holders = (await this.#store.enforcedAgents()).filter(
      (e) =>
        e.agent !== name && sharedIdentities((e.spec as AgentSpec).identities ?? [], requested.identities).length > 0,
    );
    const [only] = holders;
    if (holders.length === 1 && only) {
      const spec = only.spec as AgentSpec;
      return {
        spec: { ...spec, identities: sharedIdentities(spec.identities, requested.identities) },
        reason: `first registration of identities last enforced under agent ${only.agent} (ledger entry ${only.ledgerIndex}): that boundary carries over until a human approves more`,
      };
    }
    if (holders.length > 1)
      return {
        spec: noAuthority(requested),
        reason: `first registration of identities enforced under agents ${holders.map((h) => h.agent).join(', ')}: it starts with no authority until a human approves`,
      };
    for (const username of usernamesOf(requested.identities)) {
      const seen = await this.#store.subjectSeen(username);
      if (seen)
        return {
          spec: noAuthority(requested),
          reason: `first registration of ${username}, which already acted (ledger entry ${seen.index}) without a boundary of its own: it starts with no authority until a human approves`,
        };
    }
    return undefined;
  }
}
