// A bounded tool can do only what its declared requirements allow AND its runtime identity's RBAC
// grants. That intersection is computed rule by rule, so every narrowed rule still points at the
// binding → role → rule it came from.
import { apiGroupMatches, resourceMatches } from '../../kube/rbac-match.ts';
import type { RuleLike } from '../../kube/rbac-match.ts';
import type { RbacRequirement } from './gateway-grants.ts';
import { type GrantedRule, newGrantedRule, type RuleIds, type ToolRestriction } from './rbac-index.ts';

function intersectLists(required: readonly string[], granted: readonly string[]): string[] {
  if (granted.includes('*')) return [...required];
  if (required.includes('*')) return [...granted];
  return required.filter((x) => granted.includes(x));
}

/** Resources of a rule that a generic (kind-chosen-by-argument) tool can reach, for a fixed subresource or none. */
function genericResources(granted: readonly string[], subresource: string | undefined): string[] {
  const out = new Set<string>();
  for (const r of granted) {
    if (subresource) {
      if (r === '*' || r === `*/${subresource}`) out.add(`*/${subresource}`);
      else if (r.endsWith(`/${subresource}`)) out.add(r);
    } else if (!r.includes('/')) out.add(r);
    // '*' stays '*': RBAC has no word for "every resource but no subresource"; slightly wider, never narrower.
  }
  return [...out];
}

export function restrictRule(
  gr: GrantedRule,
  req: RbacRequirement,
  ids: RuleIds,
  restrictedBy: ToolRestriction,
): GrantedRule | undefined {
  const rule = gr.rule;
  if (!rule.resources?.length) return undefined;
  const verbs = intersectLists(req.verbs, rule.verbs);
  if (verbs.length === 0) return undefined;

  let apiGroups: string[];
  let resources: string[];
  const res = req.target.resource;
  if (res) {
    const group = res.apiGroup ?? '';
    if (!apiGroupMatches(rule, group) || !resourceMatches(rule, res.resource, res.subresource || undefined))
      return undefined;
    apiGroups = [group];
    resources = [res.subresource ? `${res.resource}/${res.subresource}` : res.resource];
  } else {
    apiGroups = [...(rule.apiGroups ?? [])];
    resources = genericResources(rule.resources, req.target.gvk?.subresource || undefined);
  }
  if (apiGroups.length === 0 || resources.length === 0) return undefined;

  let resourceNames = rule.resourceNames?.length ? [...rule.resourceNames] : undefined;
  const fixedName = req.resourceName?.name;
  if (fixedName) {
    if (resourceNames && !resourceNames.includes(fixedName)) return undefined;
    resourceNames = [fixedName];
  }

  let namespace = gr.namespace;
  const ns = req.namespace;
  if (ns?.name) {
    if (gr.namespace !== undefined && gr.namespace !== ns.name) return undefined;
    namespace = ns.name;
  } else if (ns?.all && gr.namespace !== undefined) {
    // An all-namespaces request is answered by ClusterRoleBindings only.
    return undefined;
  }

  const narrowed: RuleLike = { verbs, apiGroups, resources, ...(resourceNames ? { resourceNames } : {}) };
  const base = gr.base ?? gr;
  return newGrantedRule(ids, {
    rule: narrowed,
    namespace,
    grant: gr.grant,
    ruleIndex: gr.ruleIndex,
    base,
    restrictedBy,
  });
}

/** The tool's view of its identity: every (requirement ∩ rule) that is not empty. */
export function restrictRules(
  rules: readonly GrantedRule[],
  requirements: readonly RbacRequirement[],
  ids: RuleIds,
  where: { server: string; tool: string },
): GrantedRule[] {
  const out: GrantedRule[] = [];
  requirements.forEach((req, requirement) => {
    for (const gr of rules) {
      const r = restrictRule(gr, req, ids, { ...where, requirement });
      if (r) out.push(r);
    }
  });
  return out;
}
