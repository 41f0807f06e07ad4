// Does one RBAC-shaped rule grant nothing beyond a set of others? Decided one (verb, group,
// resource, name) tuple at a time, with wildcards taken literally: a '*' in the rule is covered
// only by a '*' (it reaches resources no list can name). Used to tell a widening from a
// narrowing and to find what a grant holds beyond an agent's boundary.
import type { RuleLike } from './rbac-match.ts';

export interface RuleTuple {
  readonly verb: string;
  readonly group: string;
  /** resource or resource/subresource, possibly '*' or '*\/sub' */
  readonly resource: string;
  /** Absent: any name. */
  readonly name?: string;
}

export function ruleTuples(rule: RuleLike): RuleTuple[] {
  const out: RuleTuple[] = [];
  const names = rule.resourceNames?.length ? rule.resourceNames : [undefined];
  for (const verb of rule.verbs)
    for (const group of rule.apiGroups ?? [])
      for (const resource of rule.resources ?? []) for (const name of names) out.push({ verb, group, resource, name });
  return out;
}

export function tupleCovered(by: RuleLike, t: RuleTuple): boolean {
  if (!by.verbs.includes('*') && !by.verbs.includes(t.verb)) return false;
  const groups = by.apiGroups ?? [];
  if (!groups.includes('*') && !groups.includes(t.group)) return false;
  const resources = by.resources ?? [];
  if (!resources.includes('*') && !resources.includes(t.resource)) {
    const slash = t.resource.indexOf('/');
    if (slash < 0 || !resources.includes(`*${t.resource.slice(slash)}`)) return false;
  }
  const names = by.resourceNames ?? [];
  return names.length === 0 || (t.name !== undefined && names.includes(t.name));
}
