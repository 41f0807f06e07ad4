// How bad an excess permission is, judged by what it lets its holder do next: take over identities
// or the cluster (critical), run code or read credentials (high), change things (medium), read (low).
import { RUNS_PODS } from '../../kube/pod-template.ts';
import { RBAC_RESOURCES } from '../../kube/rbac-match.ts';
import type { ExcessPart, PermissionSet } from './boundary.ts';

export type Severity = 'critical' | 'high' | 'medium' | 'low';
export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low'];
export const severityRank = (s: Severity) => SEVERITIES.indexOf(s);

const READ = new Set(['get', 'list', 'watch']);
const TAKEOVER_VERBS = new Set(['escalate', 'bind', 'impersonate']);
const CODE = new Set(['pods', 'pods/exec', 'pods/attach', 'pods/ephemeralcontainers', 'serviceaccounts/token']);
const CONTROL_PLANE = new Set([
  'mutatingwebhookconfigurations',
  'validatingwebhookconfigurations',
  'nodes/proxy',
  'certificatesigningrequests/approval',
  'signers',
]);

function tupleSeverity(verb: string, resource: string, wide: boolean): Severity {
  const write = !READ.has(verb);
  if (TAKEOVER_VERBS.has(verb) || verb === 'approve') return 'critical';
  if (verb === '*' && resource === '*') return 'critical';
  if (CONTROL_PLANE.has(resource) && (write || resource === 'nodes/proxy')) return 'critical';
  if (
    wide &&
    ((resource === 'secrets' && (verb === '*' || READ.has(verb))) ||
      ((CODE.has(resource) || RUNS_PODS.has(resource)) && write))
  )
    return 'critical';
  if (resource === 'secrets' || resource === '*') return write || resource === 'secrets' ? 'high' : 'medium';
  if ((CODE.has(resource) || RUNS_PODS.has(resource) || RBAC_RESOURCES.has(resource)) && write) return 'high';
  if (write) return 'medium';
  return 'low';
}

function setSeverity(p: PermissionSet, wide: boolean): Severity {
  if (p.nonResourceURLs) return p.verbs.includes('*') ? 'medium' : 'low';
  let best: Severity = 'low';
  for (const v of p.verbs) {
    for (const r of p.resources ?? []) {
      const s = tupleSeverity(v, r, wide);
      if (severityRank(s) < severityRank(best)) best = s;
      if (best === 'critical') return best;
    }
  }
  return best;
}

export function severityOf(parts: readonly ExcessPart[]): Severity {
  let best: Severity = 'low';
  for (const part of parts) {
    // Many namespaces at once is as bad as cluster-wide.
    const wide = part.where.kind !== 'namespace' && (part.where.kind !== 'namespaces' || part.where.count >= 10);
    for (const p of part.permissions) {
      const s = setSeverity(p, wide);
      if (severityRank(s) < severityRank(best)) best = s;
    }
  }
  return best;
}
