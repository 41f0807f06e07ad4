// Where requested policy comes from: a directory (standalone) or Agent/GovernancePolicy objects
// watched in the cluster. Both hand whole document sets to the PolicyController.
import { watch } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import type { PolicyProblem } from '../policy/errors.ts';
import { classifyObject, type Located, parsePolicyDir } from '../policy/load.ts';
import type { AgentDocument, GovernancePolicyDocument } from '../policy/schema.ts';
import type { PolicyController } from './policy-controller.ts';

export interface PolicySource {
  start(): Promise<void>;
  stop(): void;
}

export function directorySource(dir: string, controller: PolicyController): PolicySource {
  let watcher: ReturnType<typeof watch> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const load = () => controller.submit(parsePolicyDir(dir), `directory:${dir}`);
  return {
    async start() {
      await load();
      watcher = watch(dir, { recursive: true }, () => {
        clearTimeout(timer);
        timer = setTimeout(() => void load(), 150);
      });
    },
    stop() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}

export function kubernetesSource(
  kc: k8s.KubeConfig,
  controller: PolicyController,
  onError: (e: unknown) => void,
): PolicySource {
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  const list = (plural: string) => () =>
    api.listClusterCustomObject({ group: 'tether.dev', version: 'v1alpha1', plural }) as Promise<
      k8s.KubernetesListObject<k8s.KubernetesObject>
    >;
  const agents = k8s.makeInformer(kc, '/apis/tether.dev/v1alpha1/agents', list('agents'));
  const policies = k8s.makeInformer(kc, '/apis/tether.dev/v1alpha1/governancepolicies', list('governancepolicies'));
  let timer: NodeJS.Timeout | undefined;
  const written = new Map<string, string>();
  // Status says what Tether enforces, so `kubectl get agents` shows a pending widening.
  const writeStatuses = async (objects: readonly k8s.KubernetesObject[]) => {
    for (const e of controller.enforcement) {
      const o = objects.find((x) => x.metadata?.name === e.name);
      const status = {
        enforced: e.requestedDigest === e.enforcedDigest,
        enforcedSpecDigest: e.enforcedDigest,
        observedGeneration: o?.metadata?.generation,
        pendingExpansion: e.pendingExpansion
          ? { id: e.pendingExpansion.id, changes: e.pendingExpansion.changes }
          : null,
        message: e.pendingExpansion
          ? `widening waits for a human: tether expansions approve ${e.pendingExpansion.id} --reason "…"`
          : 'enforced as requested',
      };
      const key = JSON.stringify(status);
      if (written.get(e.name) === key) continue;
      await api.patchClusterCustomObjectStatus(
        { group: 'tether.dev', version: 'v1alpha1', plural: 'agents', name: e.name, body: { status } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      written.set(e.name, key);
    }
  };
  controller.onReconciled(() => void writeStatuses(agents.list()).catch(onError));
  const resubmit = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const problems: PolicyProblem[] = [];
      const agentDocs: Located<AgentDocument>[] = [];
      const govDocs: Located<GovernancePolicyDocument>[] = [];
      for (const o of [...agents.list(), ...policies.list()].sort((a, b) =>
        (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''),
      )) {
        const r = classifyObject(o, `cluster:${o.kind}/${o.metadata?.name}`, 0);
        problems.push(...r.problems);
        if (r.agent) agentDocs.push(r.agent);
        if (r.governance) govDocs.push(r.governance);
      }
      void controller.submit({ agents: agentDocs, governance: govDocs, problems }, 'cluster').catch(onError);
    }, 100);
  };
  for (const inf of [agents, policies]) {
    inf.on('add', resubmit);
    inf.on('update', resubmit);
    inf.on('delete', resubmit);
    inf.on('error', (e) => {
      onError(e);
      setTimeout(() => void inf.start().catch(onError), 2000);
    });
  }
  return {
    async start() {
      await Promise.all([agents.start(), policies.start()]);
      resubmit();
      await new Promise((r) => setTimeout(r, 150));
    },
    stop() {
      clearTimeout(timer);
      void agents.stop();
      void policies.stop();
    },
  };
}
