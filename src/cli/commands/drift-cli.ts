// Wires `tether drift` to its evidence: the ledger (a store), the agents (a policy directory).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { agentDirectoryFromPolicy } from '../../analysis/drift/actors.ts';
import { objectKey } from '../../engine/action.ts';
import type { Store } from '../../store/store.ts';
import { type DriftCommandOptions, driftCommand } from './drift.ts';
import { requirePolicy } from './policy.ts';

const collect = (v: string, acc: string[] = []) => [...acc, v];

export function driftCli(run: (fn: () => Promise<number>) => void): Command {
  return new Command('drift')
    .description('where the cluster stopped matching Git, and which agent (or human) made it so, with what intent')
    .requiredOption('--repo <dir>', 'the Git working copy of the desired state')
    .option('--revision <rev>', 'compare against this revision (default: the working tree)')
    .option('--path <dir>', 'directory below --repo to render (plain manifests or kustomize)')
    .option('--namespace <ns>', 'namespace for objects that name none', 'default')
    .option('--live <dump>', 'live state from a kubectl get -o json/yaml dump instead of a cluster')
    .option('--kubeconfig <file>', 'live state from this cluster')
    .option('--context <name>', 'kubeconfig context')
    .option('-o, --output <format>', 'table, json or policyreport', 'table')
    .option('--respond <response>', 'report, notify, codify or revert', 'report')
    .option('--ignore <file>', 'YAML list of ignore rules')
    .option('--ignore-manager <name>', 'ignore fields owned by this field manager; repeatable', collect)
    .option('--audit-log <file>', 'audit.k8s.io/v1 events for attribution')
    .option('--applier <manager>', 'field managers that apply Git; repeatable', collect)
    .option('--branch <name>', 'branch for --respond codify')
    .option('--policy <dir>', 'Agents, to name the agent behind a username')
    .option(
      '--store <url>',
      "Tether's store, for the ledger's decisions on each object (default: <data-dir>/tether.db when it exists)",
    )
    .option('--data-dir <dir>', 'Tether data directory', '.tether')
    .option('--record', 'append the findings to the ledger (kind drift)')
    .action((o: DriftCommandOptions & { policy?: string; store?: string; dataDir: string; record?: boolean }) =>
      run(async () => {
        const defaultDb = join(resolve(o.dataDir), 'tether.db');
        const url = o.store ?? (existsSync(defaultDb) ? `sqlite:${defaultDb}` : undefined);
        let store: Store | undefined;
        if (url) store = await (await import('../../store/open.ts')).openStore(url);
        try {
          return await driftCommand(o, {
            agents: o.policy ? agentDirectoryFromPolicy(requirePolicy(o.policy)) : undefined,
            ledger: store && {
              decisionsFor: async (t) =>
                (await (store as Store).queryLedger({ object: objectKey({ ...t, version: '' }), limit: 1000 })).map(
                  (e) => e.leaf,
                ),
            },
            recordLeaves:
              store && o.record
                ? async (leaves) => void (await Promise.all(leaves.map((l) => (store as Store).append(l))))
                : undefined,
          });
        } finally {
          await store?.close();
        }
      }),
    );
}
