// apiVersion + kind → the RBAC resource an Action names. The gateway has no discovery client, so
// it knows the built-in kinds, the kinds its config lists (custom resources), and otherwise makes
// the API server's own plural guess. A wrong guess fails closed: the boundary will not match it.
import { isKnownClusterScoped } from '../../kube/well-known-resources.ts';
import type { KindConfig } from './config.ts';

export interface ResolvedKind {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  /** False only when the kind is known to be cluster-scoped. */
  readonly namespaced: boolean;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** The plural Kubernetes itself guesses for a kind it has not discovered. */
export function guessPlural(kind: string): string {
  const lower = kind.toLowerCase();
  if (lower.endsWith('endpoints')) return lower;
  if (lower.endsWith('s')) return `${lower}es`;
  if (lower.endsWith('y') && !/[aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}

export class KindResolver {
  readonly #configured = new Map<string, KindConfig>();

  constructor(kinds: readonly KindConfig[]) {
    for (const k of kinds) this.#configured.set(`${splitApiVersion(k.apiVersion).group}/${k.kind}`, k);
  }

  resolve(apiVersion: string, kind: string): ResolvedKind {
    const { group, version } = splitApiVersion(apiVersion);
    const configured = this.#configured.get(`${group}/${kind}`);
    if (configured) return { group, version, resource: configured.resource, namespaced: configured.namespaced };
    const resource = guessPlural(kind);
    return { group, version, resource, namespaced: !isKnownClusterScoped(group, resource) };
  }

  /** Whether a resource named directly (not by kind) is namespaced, as far as the gateway knows. */
  namespaced(group: string, resource: string): boolean {
    for (const k of this.#configured.values())
      if (k.resource === resource && splitApiVersion(k.apiVersion).group === group) return k.namespaced;
    return !isKnownClusterScoped(group, resource);
  }
}
