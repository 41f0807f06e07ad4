import { readFileSync } from 'node:fs';
import { decodeAdmissionReview } from '../../adapters/admission/decode.ts';
import { decodeAction } from '../../adapters/api/decode-action.ts';
import { DecodeError } from '../../adapters/shared/decode-error.ts';
import { decide } from '../../engine/decide.ts';
import { EMPTY_STATE } from '../../engine/state.ts';
import { type ClusterState, clusterViewOf } from '../../kube/cluster-view.ts';
import { formatSource, readObjectDump } from '../../kube/object-dump.ts';
import type { CompiledPolicy } from '../../policy/compile.ts';
import { formatProblem } from '../../policy/errors.ts';
import { explainAgent } from '../../policy/explain.ts';
import { lintDir, loadPolicyDir } from '../../policy/lint.ts';
import { printJson, UsageError } from '../output.ts';

export function lintCommand(dir: string, opts: { output?: string }): number {
  const r = lintDir(dir);
  const errors = r.problems.filter((p) => p.severity === 'error').length;
  if (opts.output === 'json')
    printJson({
      ok: errors === 0,
      agents: r.agents,
      errors,
      warnings: r.problems.length - errors,
      problems: r.problems,
    });
  else {
    for (const p of r.problems) console.log(formatProblem(p));
    console.log(
      `${r.agents} agent(s), ${errors} error(s), ${r.problems.length - errors} warning(s)${r.policy ? `; policy version ${r.policy.version}` : ''}`,
    );
  }
  return errors > 0 ? 1 : 0;
}

export function requirePolicy(dir: string): CompiledPolicy {
  const r = loadPolicyDir(dir);
  if (!r.policy)
    throw new UsageError(
      `policy in ${dir} has errors:\n${r.problems
        .filter((p) => p.severity === 'error')
        .map(formatProblem)
        .join('\n')}`,
    );
  return r.policy;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Offline evaluation: prints the Decision; exit 0 whatever it is, non-zero only for bad input. */
export function decideCommand(opts: {
  policy: string;
  admissionReview?: string;
  action?: string;
  now?: string;
  cluster?: string;
}): number {
  if (!opts.admissionReview === !opts.action)
    throw new UsageError('give exactly one of --admission-review <file> or --action <file>');
  const policy = requirePolicy(opts.policy);
  const file = (opts.admissionReview ?? opts.action) as string;
  let action: ReturnType<typeof decodeAction>;
  try {
    action = opts.admissionReview ? decodeAdmissionReview(readJson(file)).action : decodeAction(readJson(file));
  } catch (e) {
    if (e instanceof DecodeError) throw new UsageError(`${file}: ${e.message}`);
    throw e;
  }
  const now = opts.now ? Date.parse(opts.now) : Date.now();
  if (Number.isNaN(now)) throw new UsageError(`--now: not a time: ${opts.now}`);
  printJson(decide(action, policy, EMPTY_STATE, now, opts.cluster ? loadClusterView(opts.cluster) : undefined));
  return 0;
}

/** The dump `tether access` reads, as the engine's cluster view; unreadable input is a usage error, not a guess. */
function loadClusterView(path: string): ClusterState {
  const dump = readObjectDump([path]);
  const errors = dump.problems.filter((p) => p.severity === 'error');
  if (errors.length)
    throw new UsageError(
      `--cluster ${path}:\n${errors.map((p) => `${formatSource(p.source)}: ${p.message}`).join('\n')}`,
    );
  if (dump.files.length === 0) throw new UsageError(`--cluster ${path}: no .yaml, .yml or .json files`);
  return clusterViewOf(dump.objects.map((o) => o.object));
}

export function explainCommand(name: string, opts: { policy: string; output?: string }): number {
  const policy = requirePolicy(opts.policy);
  const agent = policy.agents.get(name);
  if (!agent)
    throw new UsageError(
      `no Agent named ${name} in ${opts.policy}; known: ${[...policy.agents.keys()].join(', ') || 'none'}`,
    );
  if (opts.output === 'json')
    printJson({ name: agent.name, class: agent.authorityClass, mode: agent.mode, spec: agent.spec });
  else console.log(explainAgent(agent, policy));
  return 0;
}
