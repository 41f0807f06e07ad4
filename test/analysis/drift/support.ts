// Shared by the drift tests: the Online Boutique fixture as a Git repository, and a ledger fed
// with real LedgerLeaf objects.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DesiredState, loadDesiredState } from '../../../src/analysis/drift/desired.ts';
import type { AuditEvent, EvidenceTarget, LedgerEvidence } from '../../../src/analysis/drift/evidence.ts';
import type { KubeObject } from '../../../src/analysis/drift/model.ts';
import type { LedgerLeaf } from '../../../src/ledger/leaf.ts';
import { ApiServerStandIn } from './apiserver-standin.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** CI checks out ../shared beside the repository. Never written to. */
export const FIXTURE = resolve(repoRoot, '..', 'shared', 'fixtures', 'gitops', 'online-boutique');

export const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Fixture',
  GIT_AUTHOR_EMAIL: 'fixture@example.com',
  GIT_COMMITTER_NAME: 'Fixture',
  GIT_COMMITTER_EMAIL: 'fixture@example.com',
  GIT_AUTHOR_DATE: '2026-03-01T08:00:00Z',
  GIT_COMMITTER_DATE: '2026-03-01T08:00:00Z',
};

export function gitIn(dir: string, args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], { env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' });
}

export function makeWritable(path: string): void {
  const st = statSync(path);
  chmodSync(path, st.mode | 0o200);
  if (st.isDirectory()) for (const e of readdirSync(path)) makeWritable(join(path, e));
}

export interface FixtureRepo {
  readonly dir: string;
  readonly commit: string;
  cleanup(): void;
}

/** A copy of the fixture committed into a fresh repository on branch main. */
export function fixtureRepo(): FixtureRepo {
  const dir = mkdtempSync(join(tmpdir(), 'tether-drift-repo-'));
  cpSync(FIXTURE, dir, { recursive: true });
  makeWritable(dir);
  gitIn(dir, ['init', '-q', '-b', 'main']);
  gitIn(dir, ['add', '-A']);
  gitIn(dir, ['commit', '-q', '-m', 'Online Boutique manifests']);
  return {
    dir,
    commit: gitIn(dir, ['rev-parse', 'HEAD']).trim(),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** LedgerEvidence over leaves in memory: every leaf whose target is the object or one of its subresources. */
export function memoryLedger(leaves: readonly LedgerLeaf[]): LedgerEvidence & { readonly asked: EvidenceTarget[] } {
  const asked: EvidenceTarget[] = [];
  return {
    asked,
    async decisionsFor(t) {
      asked.push(t);
      return leaves.filter(
        (l) =>
          l.target !== undefined &&
          l.target.group === t.group &&
          l.target.resource === t.resource &&
          (l.target.namespace ?? '') === (t.namespace ?? '') &&
          l.target.name === t.name,
      );
    },
  };
}

/** The leaf the engine writes when it allows an agent's mutation. */
export function agentDecision(p: {
  time: string;
  agent: string;
  owner: string;
  verb: string;
  resource: string;
  group?: string;
  namespace: string;
  name: string;
  subresource?: string;
  intent: string;
  trigger?: string;
  approvals?: string[];
  auditId?: string;
}): LedgerLeaf {
  return {
    v: 1,
    time: p.time,
    kind: 'decision',
    agent: p.agent,
    owner: p.owner,
    authorityClass: 'autonomous',
    source: 'admission',
    verb: p.verb,
    target: {
      group: p.group ?? 'apps',
      version: 'v1',
      resource: p.resource,
      ...(p.subresource ? { subresource: p.subresource } : {}),
      namespace: p.namespace,
      name: p.name,
    },
    actionDigest: 'sha256:0000000000000000000000000000000000000000000000000000000000000000',
    intent: { summary: p.intent, ...(p.trigger ? { trigger: p.trigger } : {}) },
    decision: 'allow',
    rules: [],
    policyVersion: 'sha256:policy',
    ...(p.approvals ? { approvals: p.approvals } : {}),
    ...(p.auditId ? { auditId: p.auditId } : {}),
  };
}

// ---- scenarios on the Online Boutique repository ----------------------------------------------

export const AGENT = {
  name: 'scaler-bot',
  owner: 'alice@example.com',
  username: 'system:serviceaccount:agents:scaler-bot',
} as const;
export const HUMAN = 'bob@example.com';

export interface Boutique {
  readonly repo: FixtureRepo;
  readonly desired: DesiredState;
  readonly api: ApiServerStandIn;
}

/** The fixture rendered at `path` and applied with kubectl to a stand-in API server. */
export async function boutique(opts: { path?: string; labels?: Record<string, string> } = {}): Promise<Boutique> {
  const repo = fixtureRepo();
  const desired = await loadDesiredState({ repo: repo.dir, path: opts.path ?? 'kustomize' });
  const api = new ApiServerStandIn();
  for (const d of desired.objects) api.applyClientSide(d.object, opts.labels ? { labels: opts.labels } : {});
  api.tick(300);
  return { repo, desired, api };
}

/** An audit.k8s.io/v1 Event shaped as kube-apiserver sends it (log or webhook backend). */
export function auditEvent(p: {
  auditID: string;
  username: string;
  groups?: string[];
  verb: string;
  resource: string;
  group?: string;
  namespace: string;
  name: string;
  subresource?: string;
  at: string;
  fieldManager?: string;
  userAgent?: string;
}): AuditEvent {
  const base = p.group === '' ? '/api/v1' : `/apis/${p.group ?? 'apps'}/v1`;
  const query = p.fieldManager ? `?fieldManager=${p.fieldManager}` : '';
  const received = new Date(Date.parse(p.at) + 120).toISOString().replace('Z', '000Z');
  const done = new Date(Date.parse(p.at) + 135).toISOString().replace('Z', '000Z');
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: p.auditID,
    stage: 'ResponseComplete',
    requestURI: `${base}/namespaces/${p.namespace}/${p.resource}/${p.name}${p.subresource ? `/${p.subresource}` : ''}${query}`,
    verb: p.verb,
    user: { username: p.username, groups: p.groups ?? ['system:authenticated'] },
    sourceIPs: ['10.0.0.7'],
    userAgent: p.userAgent ?? 'kubectl/v1.32.4 (linux/amd64) kubernetes/59526cd',
    objectRef: {
      resource: p.resource,
      namespace: p.namespace,
      name: p.name,
      apiGroup: p.group ?? 'apps',
      apiVersion: 'v1',
      ...(p.subresource ? { subresource: p.subresource } : {}),
    },
    responseStatus: { code: 200 },
    requestReceivedTimestamp: received,
    stageTimestamp: done,
    annotations: {
      'authorization.k8s.io/decision': 'allow',
      'authorization.k8s.io/reason': 'RBAC: allowed by ClusterRoleBinding',
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: tests reach into untyped manifests by design.
export type Loose = Record<string, any>;
export const spec = (o: KubeObject): Loose => o.spec as Loose;
export const container = (o: KubeObject, name: string): Loose =>
  spec(o).template.spec.containers.find((c: { name: string }) => c.name === name);

/** The agent deletes a Service through the stand-in; returns the ledger that says so. */
export function agentDeletesService(
  api: ApiServerStandIn,
  name: string,
  intent: string,
): ReturnType<typeof memoryLedger> {
  api.delete('Service', 'default', name);
  return memoryLedger([
    agentDecision({
      time: api.now(),
      agent: AGENT.name,
      owner: AGENT.owner,
      verb: 'delete',
      group: '',
      resource: 'services',
      namespace: 'default',
      name,
      intent,
    }),
  ]);
}
