// Live state: from the cluster (listed per kind and namespace that Git declares, so extra
// objects in those places are seen too) or from a dump file for offline use.
import { readFile } from 'node:fs/promises';
import { DriftInputError } from './errors.ts';
import { KubeApiError, type KubeClient } from './kube-client.ts';
import { parseManifests } from './manifests.ts';
import type { DesiredObject, InputProblem, KubeObject } from './model.ts';
import { apiVersionOf } from './object-id.ts';

/** A kind in a namespace ('' for cluster-wide) that could not be read: its objects are not judged. */
export interface Unreadable {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly why: string;
}

export interface LiveState {
  readonly objects: KubeObject[];
  readonly problems: InputProblem[];
  readonly unreadable: Unreadable[];
  /** Describes where the state came from, for reports. */
  readonly origin: string;
}

function jsonList(text: string): ReturnType<typeof parseManifests> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const v = value as { items?: unknown[]; kind?: string };
  const items = Array.isArray(v.items) ? v.items : [value];
  if (
    !items.every(
      (i) =>
        typeof i === 'object' &&
        i !== null &&
        typeof (i as KubeObject).metadata?.name === 'string' &&
        typeof (i as KubeObject).kind === 'string',
    )
  )
    return undefined;
  return {
    objects: (items as KubeObject[]).map((object, doc) => ({ object, doc, line: 1 })),
    problems: [],
    skipped: 0,
  };
}

export async function loadLiveFromDump(file: string): Promise<LiveState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new DriftInputError(
      `cannot read live state dump ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  // `kubectl get -o json` dumps are large; JSON.parse reads them an order of magnitude faster.
  const parsed = (text.trimStart().startsWith('{') && jsonList(text)) || parseManifests(text, file);
  if (parsed.objects.length === 0 && parsed.problems.length > 0) {
    throw new DriftInputError(`live state dump ${file} holds no readable object: ${parsed.problems[0]?.message}`);
  }
  return {
    objects: parsed.objects.map((p) => p.object),
    problems: parsed.problems,
    unreadable: [],
    origin: `dump ${file}`,
  };
}

interface Scope {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
}

function scopesOf(
  desired: readonly DesiredObject[],
  extraKinds: readonly { apiVersion: string; kind: string }[],
): Scope[] {
  const scopes = new Map<string, Scope>();
  const namespaces = new Set<string>();
  const add = (s: Scope) => scopes.set(`${s.apiVersion}|${s.kind}|${s.namespace ?? ''}`, s);
  for (const d of desired) {
    add({ apiVersion: apiVersionOf(d.id), kind: d.id.kind, ...(d.id.namespace ? { namespace: d.id.namespace } : {}) });
    if (d.id.namespace) namespaces.add(d.id.namespace);
  }
  for (const k of extraKinds) for (const ns of namespaces) add({ ...k, namespace: ns });
  return [...scopes.values()];
}

/**
 * Lists every kind Git declares, in every namespace Git uses, plus autoscalers (whose targets'
 * replica counts are theirs). Lists run a few at a time; an unreadable scope is reported, not fatal.
 */
export async function loadLiveFromCluster(
  client: KubeClient,
  desired: readonly DesiredObject[],
  concurrency = 8,
): Promise<LiveState> {
  const scopes = scopesOf(desired, [{ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' }]);
  const objects: KubeObject[] = [];
  const unreadable: Unreadable[] = [];
  const problems: InputProblem[] = [];
  let next = 0;
  async function worker(): Promise<void> {
    while (next < scopes.length) {
      const s = scopes[next++] as Scope;
      try {
        const info = await client.resourceFor(s.apiVersion, s.kind);
        if (!info) {
          // Not served: every such object is missing; say why once.
          if (s.kind !== 'HorizontalPodAutoscaler')
            problems.push({
              where: `${s.kind} (${s.apiVersion})`,
              message: 'the cluster does not serve this kind (CRD not installed?): its objects count as missing',
              severity: 'warning',
            });
          continue;
        }
        objects.push(...(await client.list(s.apiVersion, s.kind, info.namespaced ? s.namespace : undefined)));
      } catch (e) {
        const why =
          e instanceof KubeApiError ? `${e.status} ${e.reason ?? ''} ${e.message}`.trim() : (e as Error).message;
        if (s.kind === 'HorizontalPodAutoscaler') continue;
        unreadable.push({ ...s, why });
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, scopes.length) }, worker));
  return { objects: dedupe(objects), problems, unreadable, origin: `cluster ${client.server}` };
}

// Cluster-scoped kinds are listed once per namespace scope; keep one copy.
function dedupe(objects: KubeObject[]): KubeObject[] {
  const seen = new Set<string>();
  return objects.filter((o) => {
    const k = `${o.apiVersion}|${o.kind}|${o.metadata.namespace ?? ''}|${o.metadata.name}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
