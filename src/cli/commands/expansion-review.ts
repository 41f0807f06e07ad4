// `tether expansions show <id>`: what approving a boundary expansion would add to the agent's
// effective access (through its identities, tools and escalations), for the human who decides.
import { Command } from 'commander';
import { loadAccessInputs } from '../../analysis/access/load.ts';
import { buildAccessModel } from '../../analysis/access/model.ts';
import { reviewBoundaryExpansion } from '../../analysis/access/what-if.ts';
import type { AgentSpec } from '../../policy/schema.ts';
import { apiClient, type ClientOptions } from '../client.ts';
import { printJson, UsageError } from '../output.ts';

const collect = (v: string, acc: string[] = []) => [...acc, v];

interface Expansion {
  id: string;
  agent: string;
  status: string;
  summary?: string;
  requestedSpec: AgentSpec;
}

export function expansionReviewCommand(run: (fn: () => Promise<number>) => void): Command {
  return new Command('expansion-review')
    .description('what approving a boundary expansion would add to the agent’s effective access')
    .argument('<id>', 'the expansion request (tether expansions list)')
    .option('-f, --file <path>', 'cluster RBAC objects: kubectl get … -A -o yaml dumps; repeatable', collect)
    .option('--kubeconfig [path]', 'read RBAC from the live cluster')
    .requiredOption('-p, --policy <dir>', 'the Agents as they are enforced now (a directory)', collect)
    .option('-g, --gateway <file>', 'MCP gateway grants')
    .option('--server <url>')
    .option('--token <token>')
    .option('--ca <file>')
    .option('--data-dir <dir>')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(
      (
        id: string,
        o: ClientOptions & {
          file?: string[];
          kubeconfig?: string | true;
          policy: string[];
          gateway?: string;
          output?: string;
        },
      ) =>
        run(async () => {
          const client = apiClient(o);
          const all = await client.get<Expansion[]>('/v1/expansions?status=pending');
          const req = all.find((e) => e.id === id);
          if (!req) throw new UsageError(`no pending expansion ${id} (tether expansions list)`);
          if (!o.file?.length && o.kubeconfig === undefined)
            throw new UsageError('give the cluster’s RBAC: -f dump.yaml or --kubeconfig');
          const loaded = await loadAccessInputs({
            files: o.file,
            kubeconfig: o.kubeconfig === true ? '' : o.kubeconfig,
            policy: o.policy,
            gateway: o.gateway,
          });
          // The comparison starts from what the server enforces, not from what the files now request.
          const enforced = (
            await client.get<{ enforced?: { spec: AgentSpec } }>(`/v1/agents/${encodeURIComponent(req.agent)}`)
          ).enforced?.spec;
          const inputs = enforced
            ? { ...loaded, agents: loaded.agents.map((a) => (a.name === req.agent ? { ...a, spec: enforced } : a)) }
            : loaded;
          const delta = reviewBoundaryExpansion(buildAccessModel(inputs), req.agent, req.requestedSpec);
          if (o.output === 'json')
            printJson({ id, agent: req.agent, summary: req.summary, lines: delta.lines, problems: delta.problems });
          else {
            console.log(`${id}: ${req.agent} asks for ${req.summary ?? 'a wider boundary'}`);
            console.log(delta.lines.map((l) => `  ${l}`).join('\n'));
            for (const p of delta.problems) console.log(`  ! ${p.message}`);
          }
          return 0;
        }),
    );
}
