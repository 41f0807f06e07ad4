// Is a requested Agent spec wider than the enforced one? Widening waits for a human;
// narrowing applies at once. Conservative: a change we cannot prove narrower counts as wider.
import { canonicalJson } from '../common/canonical-json.ts';
import { identityKeys } from './compile.ts';
import { AUTHORITY_CLASSES, type AgentSpec, type Identity, type ResourceRule } from './schema.ts';
import { ruleTuples, tupleCovered } from '../kube/rule-coverage.ts';

// Key order is not meaning: the enforced spec comes back from the store in canonical order.
const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);
const added = <T>(before: readonly T[] | undefined, after: readonly T[] | undefined) =>
  (after ?? []).filter((x) => !(before ?? []).some((y) => same(x, y)));
const removed = <T>(before: readonly T[] | undefined, after: readonly T[] | undefined) => added(after, before);

/** Absent fields mean any field: old covers new when old is absent or lists every path new lists. */
const fieldsCovered = (old: readonly string[] | undefined, now: readonly string[] | undefined) =>
  old === undefined || now?.every((f) => old.includes(f)) === true;

/** Every (group, resource, verb, name) the rule grants is granted by some old rule of the same scope (with fields when asked). */
function ruleCovered(rule: ResourceRule, old: readonly ResourceRule[], withFields = true): boolean {
  const sameScope = old.filter((o) => (o.clusterScope ?? false) === (rule.clusterScope ?? false));
  return ruleTuples(rule).every((t) =>
    sameScope.some((o) => tupleCovered(o, t) && (!withFields || fieldsCovered(o.fields, rule.fields))),
  );
}

const describeRule = (r: ResourceRule) =>
  `${r.verbs.join(',')} on ${r.resources.join(',')} (${r.apiGroups.map((g) => g || 'core').join(',')})${r.clusterScope ? ' cluster-wide' : ''}`;

const looser = (before: number | undefined, after: number | undefined) =>
  before !== undefined && (after === undefined || after > before);

/** Human-readable list of the ways `requested` is wider than `enforced`; empty means it is the same or narrower. */
export function wideningChanges(enforced: AgentSpec, requested: AgentSpec): string[] {
  const out: string[] = [];
  const rank = (c: AgentSpec['authorityClass']) => AUTHORITY_CLASSES.indexOf(c ?? 'advisory');
  if (rank(requested.authorityClass) > rank(enforced.authorityClass))
    out.push(`authority class ${enforced.authorityClass ?? 'default'} → ${requested.authorityClass}`);
  if ((enforced.mode ?? 'enforce') === 'enforce' && requested.mode === 'audit') out.push('mode enforce → audit');
  if (!same(enforced.owner.id, requested.owner.id)) out.push(`owner ${enforced.owner.id} → ${requested.owner.id}`);
  if (enforced.owner.active === false && requested.owner.active !== false) out.push('owner re-activated');
  for (const id of added(enforced.identities, requested.identities)) out.push(`new identity ${JSON.stringify(id)}`);
  for (const a of added(enforced.approvers, requested.approvers)) out.push(`new approver ${a}`);
  const eb = enforced.boundary ?? {};
  const rb = requested.boundary ?? {};
  const oldNs = eb.namespaces ?? [];
  if (!oldNs.includes('*')) for (const ns of added(oldNs, rb.namespaces)) out.push(`new namespace ${ns}`);
  for (const r of rb.rules ?? []) {
    if (ruleCovered(r, eb.rules ?? [])) continue;
    if (ruleCovered(r, eb.rules ?? [], false))
      out.push(`rule ${describeRule(r)} may now change ${r.fields ? `fields ${r.fields.join(', ')}` : 'any field'}`);
    else out.push(`new rule ${describeRule(r)}`);
  }
  for (const a of added(eb.runAs, rb.runAs)) out.push(`workloads may now run as ${a}`);
  for (const c of removed(eb.conditions, rb.conditions)) out.push(`condition ${c.name} removed or changed`);
  for (const b of eb.budgets ?? []) {
    const nb = (rb.budgets ?? []).find((x) => x.window === b.window);
    if (!nb) out.push(`budget per ${b.window} removed`);
    else {
      if (looser(b.maxMutations, nb.maxMutations))
        out.push(`budget per ${b.window}: ${b.maxMutations} → ${nb.maxMutations ?? 'unlimited'} mutations`);
      if (looser(b.maxDistinctObjects, nb.maxDistinctObjects))
        out.push(
          `budget per ${b.window}: ${b.maxDistinctObjects} → ${nb.maxDistinctObjects ?? 'unlimited'} distinct objects`,
        );
    }
  }
  const ec = eb.chain ?? {};
  const rc = rb.chain ?? {};
  if (looser(ec.maxDepth, rc.maxDepth)) out.push(`chain depth ${ec.maxDepth} → ${rc.maxDepth ?? 'unlimited'}`);
  if (looser(ec.maxFanOut, rc.maxFanOut)) out.push(`chain fan-out ${ec.maxFanOut} → ${rc.maxFanOut ?? 'unlimited'}`);
  for (const a of added(ec.mayInvoke, rc.mayInvoke)) out.push(`may now invoke ${a}`);
  for (const p of removed(eb.protected, rb.protected))
    out.push(`protection ${p.name ?? JSON.stringify(p)} removed or changed`);
  for (const f of removed(eb.freezes, rb.freezes)) out.push(`freeze until ${f.until} removed or changed`);
  if ((eb.changeWindows?.length ?? 0) > 0 && removed(eb.changeWindows, rb.changeWindows).length > 0)
    out.push('change windows widened or removed');
  for (const t of removed(enforced.reviewTriggers, requested.reviewTriggers))
    out.push(`review trigger ${t.name} removed or changed`);
  const eBr = enforced.breaker ?? {};
  const rBr = requested.breaker ?? {};
  if (looser(eBr.maxViolations, rBr.maxViolations))
    out.push(`breaker: ${eBr.maxViolations} → ${rBr.maxViolations ?? 'no'} refusals to trip`);
  if (looser(eBr.maxMutationsPerMinute, rBr.maxMutationsPerMinute))
    out.push(`breaker: rate ${eBr.maxMutationsPerMinute} → ${rBr.maxMutationsPerMinute ?? 'unlimited'}/min`);
  if (looser(eBr.maxChainDepth, rBr.maxChainDepth))
    out.push(`breaker: chain depth ${eBr.maxChainDepth} → ${rBr.maxChainDepth ?? 'unlimited'}`);
  if (eBr.oscillation && !same(eBr.oscillation, rBr.oscillation)) out.push('oscillation breaker loosened or removed');
  for (const r of added(eBr.resetBy, rBr.resetBy)) out.push(`${r} may now reset the breaker`);
  if (enforced.intent?.required === true && requested.intent?.required !== true) out.push('intent no longer required');
  if (!same(enforced.selfTuning, requested.selfTuning) && requested.selfTuning) out.push('self-tuning limits changed');
  for (const w of added(enforced.workloads, requested.workloads)) out.push(`workload ${JSON.stringify(w)} added`);
  return out;
}

/** How an identity is recognised: the same keys the compiled policy matches requests by. */
function recognisedAs(id: Identity): string[] {
  const k = identityKeys(id);
  return [...(k.specific ?? []), ...(k.group === undefined ? [] : [`group:${k.group}`])];
}

/**
 * The identities in `claimed` that `held` already covers, by how requests are recognised (a
 * ServiceAccount and the User of its username are the same identity).
 */
export function sharedIdentities(held: readonly Identity[], claimed: readonly Identity[]): Identity[] {
  const heldKeys = new Set(held.flatMap(recognisedAs));
  return claimed.filter((id) => recognisedAs(id).some((k) => heldKeys.has(k)));
}

/** The usernames a request from one of these identities arrives with (what decision entries record as subject). */
export function usernamesOf(identities: readonly Identity[]): string[] {
  return identities.flatMap(recognisedAs).flatMap((k) => (k.startsWith('user:') ? [k.slice('user:'.length)] : []));
}

/** The spec of an agent that may do nothing: where identities with no enforced boundary of their own start. */
export function noAuthority(requested: AgentSpec): AgentSpec {
  return {
    owner: requested.owner,
    identities: requested.identities,
    authorityClass: 'advisory',
    boundary: { namespaces: [], rules: [] },
  };
}
