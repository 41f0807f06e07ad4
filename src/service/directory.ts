// The directory as the service layer keeps it: SCIM writes go to the store (with the ledger leaves
// they cause, in one transaction), then to the in-memory index every decision reads through the
// OwnershipView. An owner who stops being live (deactivated, deleted, a group left with no active
// member) is ledgered and announced; their agents are refused from the next decision on.
import type { CompiledPolicy } from '../policy/compile.ts';
import { directoryProblem, type OwnershipView } from '../engine/rules/accountability.ts';
import type { DirectoryWrite, Store } from '../store/store.ts';
import { ownerLeaf } from '../ledger/leaves.ts';
import { DirectoryIndex, memberIds, type ScimResource, type ScimResourceType } from './directory-index.ts';

/** An agent whose owner stopped (or started again) being live because of a directory change. */
export interface OwnerChange {
  readonly agent: string;
  readonly owner: string;
  readonly event: 'owner-inactive' | 'owner-restored';
  /** Why the owner is not live (owner-inactive). */
  readonly why?: string;
  readonly ledgerIndex: number;
  /** Who should re-assign: the agent's approvers and the administrators. */
  readonly notify: readonly string[];
}

export type DirectoryResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly conflict: 'uniqueness' | 'version' | 'missing'; readonly why: string };

export interface DirectoryDeps {
  readonly store: Store;
  /** The policy in force: whose owners to watch. */
  readonly policy: () => CompiledPolicy;
  readonly onOwnerChange?: (changes: readonly OwnerChange[]) => void;
  readonly clock?: () => number;
}

const keyOf = (r: ScimResource) => String(r.meta.resourceType === 'User' ? r.userName : r.displayName).toLowerCase();

/** Agents whose owner the directory does not count as live, with why. */
function ownerProblems(policy: CompiledPolicy, view: OwnershipView): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of policy.agents.values()) {
    const why = directoryProblem(a.spec.owner.id, view);
    if (why) out.set(a.name, why);
  }
  return out;
}

export class DirectoryService {
  readonly index = new DirectoryIndex();
  readonly #deps: DirectoryDeps;
  readonly #clock: () => number;
  #attestations = new Map<string, { owner: string; until: number }>();
  #version = -1;
  /** SCIM writes one at a time: each computes its consequences against the state the previous one left. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(deps: DirectoryDeps) {
    this.#deps = deps;
    this.#clock = deps.clock ?? Date.now;
  }

  /** What decisions read; `directory` is absent when SCIM is not configured. */
  view(withDirectory: boolean): OwnershipView {
    return { directory: withDirectory ? this.index : undefined, attestation: (agent) => this.#attestations.get(agent) };
  }

  /** Loads everything from the store when another writer (replica) moved the directory or attested. */
  async refresh(): Promise<void> {
    const version = await this.#deps.store.directoryVersion();
    const attestations = await this.#deps.store.attestations();
    const latest = new Map<string, { owner: string; until: number }>();
    for (const a of attestations) if (!latest.has(a.agent)) latest.set(a.agent, { owner: a.owner, until: a.until });
    this.#attestations = latest;
    if (version === this.#version) return;
    const rows = await this.#deps.store.scimRows();
    for (const id of [...this.index.users.keys()]) this.index.remove('User', id);
    for (const id of [...this.index.groups.keys()]) this.index.remove('Group', id);
    for (const r of rows) this.index.put(JSON.parse(r.data) as ScimResource);
    this.#version = version;
  }

  /** Records an attestation in the in-memory view as soon as the store has it. */
  noteAttestation(agent: string, owner: string, until: number): void {
    const cur = this.#attestations.get(agent);
    if (!cur || cur.owner !== owner || cur.until < until) this.#attestations.set(agent, { owner, until });
  }

  /** Creates or replaces one resource; `previous` is the version it replaces (undefined: create). */
  put(resource: ScimResource, previous: number | undefined): Promise<DirectoryResult<ScimResource>> {
    const write: DirectoryWrite = {
      kind: 'put',
      type: resource.meta.resourceType,
      id: resource.id,
      nameKey: keyOf(resource),
      version: Number(/\d+/.exec(resource.meta.version)?.[0]),
      data: JSON.stringify(resource),
      previous,
    };
    return this.#serial(() =>
      this.#apply([write], [resource], []).then((r) => (r.ok ? { ok: true, value: resource } : r)),
    );
  }

  /** Deletes a resource; deleting a user also takes it out of every group (RFC 7644 §3.6). */
  remove(type: ScimResourceType, id: string, previous: number): Promise<DirectoryResult<null>> {
    return this.#serial(async () => {
      const writes: DirectoryWrite[] = [{ kind: 'delete', type, id, previous }];
      const puts: ScimResource[] = [];
      if (type === 'User') {
        for (const g of this.index.groups.values()) {
          if (!memberIds(g).includes(id)) continue;
          const v = Number(/\d+/.exec(g.meta.version)?.[0]);
          const updated: ScimResource = {
            ...g,
            members: (g.members as { value?: string }[]).filter((m) => m.value !== id),
            meta: { ...g.meta, version: `W/"${v + 1}"`, lastModified: new Date(this.#clock()).toISOString() },
          };
          puts.push(updated);
          writes.push({
            kind: 'put',
            type: 'Group',
            id: g.id,
            nameKey: keyOf(g),
            version: v + 1,
            data: JSON.stringify(updated),
            previous: v,
          });
        }
      }
      const r = await this.#apply(writes, puts, [{ type, id }]);
      return r.ok ? { ok: true, value: null } : r;
    });
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work, work);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Works out which owners the change would take away (or give back), synchronously on the index
   * and undone before anything awaits, so no decision sees a state the store has not committed.
   */
  async #apply(
    writes: DirectoryWrite[],
    puts: ScimResource[],
    removes: { type: ScimResourceType; id: string }[],
  ): Promise<{ ok: true } | { ok: false; conflict: 'uniqueness' | 'version' | 'missing'; why: string }> {
    const policy = this.#deps.policy();
    const view = this.view(true);
    const before = ownerProblems(policy, view);
    const undo = this.#applyToIndex(puts, removes);
    const after = ownerProblems(policy, view);
    undo();
    const now = this.#clock();
    const changes = ownerChanges(policy, before, after);
    const leaves = changes.map((c) =>
      ownerLeaf(
        policy,
        c.agent,
        c.event === 'owner-inactive' ? { event: c.event, why: c.why as string } : { event: c.event },
        now,
      ),
    );
    const r = await this.#deps.store.writeDirectory(writes, leaves, now);
    if (!r.ok) return r;
    this.#applyToIndex(puts, removes);
    // Ours is applied already; if another writer moved the head in between, the next refresh reloads.
    this.#version = r.version === this.#version + 1 ? r.version : -1;
    if (changes.length > 0)
      this.#deps.onOwnerChange?.(
        changes.map((c, i) => ({ ...c, ledgerIndex: r.indexes[i] as number, notify: notifyList(policy, c.agent) })),
      );
    return { ok: true };
  }

  #applyToIndex(puts: ScimResource[], removes: { type: ScimResourceType; id: string }[]): () => void {
    const old = [...puts.map((p) => ({ type: p.meta.resourceType, id: p.id })), ...removes].map(({ type, id }) => ({
      type,
      id,
      was: this.index.get(type, id),
    }));
    for (const r of removes) this.index.remove(r.type, r.id);
    for (const p of puts) this.index.put(p);
    return () => {
      for (const o of old.reverse()) {
        this.index.remove(o.type, o.id);
        if (o.was) this.index.put(o.was);
      }
    };
  }
}

function ownerChanges(policy: CompiledPolicy, before: Map<string, string>, after: Map<string, string>) {
  const out: { agent: string; owner: string; event: OwnerChange['event']; why?: string }[] = [];
  for (const a of policy.agents.values()) {
    const was = before.get(a.name);
    const now = after.get(a.name);
    if (was === undefined && now !== undefined)
      out.push({ agent: a.name, owner: a.spec.owner.id, event: 'owner-inactive', why: now });
    if (was !== undefined && now === undefined)
      out.push({ agent: a.name, owner: a.spec.owner.id, event: 'owner-restored' });
  }
  return out;
}

function notifyList(policy: CompiledPolicy, agentName: string): string[] {
  const a = policy.agents.get(agentName);
  return [...new Set([...(a?.spec.approvers ?? []), ...(policy.governance.spec.approvals?.administrators ?? [])])];
}
