// `tether access …`: thin wrappers that parse arguments, call src/analysis/access, and print.
import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import { analyzeAccess } from '../../analysis/access/analyze.ts';
import { type AccessQuestion, allWitnesses, can, describeGrant, explainAnswer } from '../../analysis/access/can.ts';
import { userPrincipal } from '../../analysis/access/identity.ts';
import { loadAccessInputs, splitAgents } from '../../analysis/access/load.ts';
import { type AccessModel, buildAccessModel } from '../../analysis/access/model.ts';
import { dotToSvg, renderDot } from '../../analysis/access/render-dot.ts';
import { groupProblems, renderText } from '../../analysis/access/render-text.ts';
import { type ProposedChange, whatIf } from '../../analysis/access/what-if.ts';
import { addDocument, type DumpProblem, type KubeObject, type LocatedObject } from '../../kube/object-dump.ts';
import { resolveResourceArg, KUBE_VERSION } from '../../kube/well-known-resources.ts';
import { printJson, UsageError } from '../output.ts';

export interface SourceOptions {
  /** Files or directories of cluster objects (kubectl get -o yaml dumps, manifests). */
  file?: string[];
  /** Read the live cluster; true = the default kubeconfig. */
  kubeconfig?: string | boolean;
  context?: string;
  policy?: string[];
  gateway?: string;
  aggregation?: string;
}

async function loadModel(opts: SourceOptions): Promise<AccessModel> {
  if (!opts.file?.length && opts.kubeconfig === undefined)
    throw new UsageError('give cluster objects with -f <file|dir> or read a live cluster with --kubeconfig [path]');
  if (opts.aggregation && opts.aggregation !== 'emulate' && opts.aggregation !== 'stored')
    throw new UsageError('--aggregation is emulate or stored');
  const inputs = await loadAccessInputs({
    files: opts.file,
    kubeconfig: opts.kubeconfig === undefined ? undefined : opts.kubeconfig === true ? '' : opts.kubeconfig || '',
    context: opts.context,
    policy: opts.policy,
    gateway: opts.gateway,
  });
  return buildAccessModel(inputs, { aggregation: opts.aggregation as 'emulate' | 'stored' | undefined });
}

function noteProblems(model: AccessModel): void {
  const errors = model.problems.filter((p) => p.severity === 'error').length;
  if (errors)
    console.error(
      `note: ${errors} input error(s); the answer covers what could be read (see \`tether access analyze\`)`,
    );
}

export function parseQuestion(verb: string, resource: string, namespace?: string, name?: string): AccessQuestion {
  if (resource.startsWith('/')) return { verb, path: resource };
  const r = resolveResourceArg(resource);
  if (KUBE_VERSION.test(r.group))
    throw new UsageError(
      `${resource}: ${r.group} is a version, not an API group; write resource.group (${r.resource}.apps) or resource.version.group (${r.resource}.${r.group}.apps)`,
    );
  return {
    verb,
    group: r.group,
    resource: r.resource,
    subresource: r.subresource,
    namespace: namespace || undefined,
    name: name || undefined,
  };
}

/** `tether access can <identity> <verb> <resource>[/<sub>]` — exit 0 for yes, 1 for no, like kubectl auth can-i. */
export async function accessCanCommand(
  identity: string,
  verb: string,
  resource: string,
  opts: SourceOptions & {
    namespace?: string;
    name?: string;
    group?: string[];
    implicitGroups?: boolean;
    output?: string;
    all?: boolean;
  },
): Promise<number> {
  const model = await loadModel(opts);
  const principal = userPrincipal(identity, opts.group ?? [], opts.implicitGroups !== false);
  const q = parseQuestion(verb, resource, opts.namespace, opts.name);
  const answer = can(model.index, principal, q);
  const witnesses = opts.all ? allWitnesses(model.index, principal, q) : answer.witness ? [answer.witness] : [];
  if (opts.output === 'json') {
    printJson({
      allowed: answer.allowed,
      user: { username: principal.username, groups: principal.groups },
      request: q,
      privilegedGroup: answer.privilegedGroup,
      grants: witnesses.map((w) => ({
        binding: {
          kind: w.rule.grant?.binding.kind,
          namespace: w.rule.grant?.binding.namespace || undefined,
          name: w.rule.grant?.binding.name,
        },
        subject: w.subject,
        role: {
          kind: w.rule.grant?.binding.roleRef.kind,
          name: w.rule.grant?.binding.roleRef.name,
          aggregated: w.rule.grant?.role?.aggregated,
        },
        ruleIndex: w.rule.ruleIndex,
        rule: w.rule.rule,
        explanation: describeGrant(w),
      })),
    });
  } else {
    console.log(explainAnswer(principal, q, answer));
    if (opts.all) for (const w of witnesses.slice(1)) console.log(`also: ${describeGrant(w)}`);
  }
  noteProblems(model);
  return answer.allowed ? 0 : 1;
}

/** `tether access analyze` — table (default), json, dot or svg. */
export async function accessAnalyzeCommand(
  opts: SourceOptions & { output?: string; out?: string; agent?: string[]; maxFindings?: string },
): Promise<number> {
  const format = opts.output ?? 'table';
  if (!['table', 'json', 'dot', 'svg'].includes(format))
    throw new UsageError(`-o ${format}: use table, json, dot or svg`);
  const max = opts.maxFindings === undefined ? undefined : Number(opts.maxFindings);
  if (max !== undefined && (!Number.isInteger(max) || max < 0))
    throw new UsageError('--max-findings takes a whole number');
  const model = await loadModel(opts);
  const unknown = (opts.agent ?? []).filter((a) => !model.graph.agents.has(a));
  if (unknown.length)
    throw new UsageError(
      `no Agent named ${unknown.join(', ')}; known: ${[...model.graph.agents.keys()].join(', ') || 'none'}`,
    );
  const report = analyzeAccess(model, {
    agents: opts.agent?.length ? opts.agent : undefined,
    maxFindingsPerAgent: max,
  });
  let text: string;
  if (format === 'json') text = `${JSON.stringify(report, null, 2)}\n`;
  else if (format === 'table') text = renderText(report);
  else {
    text = renderDot(report);
    if (format === 'svg') {
      const svg = dotToSvg(text);
      if ('svg' in svg) text = svg.svg;
      else console.error(`note: ${svg.error}; wrote Graphviz DOT instead of SVG (render it with: dot -Tsvg)`);
    }
  }
  if (opts.out) writeFileSync(opts.out, text);
  else process.stdout.write(text);
  return report.summary.findings > 0 ? 3 : 0;
}

function readObjects(path: string): { objects: LocatedObject[]; problems: DumpProblem[] } {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const objects: LocatedObject[] = [];
  const problems: DumpProblem[] = [];
  parseAllDocuments(text).forEach((d, document) => {
    if (d.errors.length)
      throw new UsageError(`${path}#${document}: broken YAML: ${d.errors[0]?.message.split('\n')[0]}`);
    addDocument(d.toJS(), { origin: path, document }, objects, problems);
  });
  return { objects, problems };
}

function parseGrantArg(arg: string): { agent: string; server: string; tools: string[] } {
  const m = /^([^=]+)=([^/]+)\/(.+)$/.exec(arg);
  if (!m) throw new UsageError(`--grant/--revoke take agent=server/tool[,tool…], not ${arg}`);
  return { agent: m[1] as string, server: m[2] as string, tools: (m[3] as string).split(',') };
}

function parseRemoveArg(arg: string): { kind: string; namespace?: string; name: string } {
  const parts = arg.split('/');
  if (parts.length === 2) return { kind: parts[0] as string, name: parts[1] as string };
  if (parts.length === 3) return { kind: parts[0] as string, namespace: parts[1], name: parts[2] as string };
  throw new UsageError(`--remove takes Kind/name or Kind/namespace/name, not ${arg}`);
}

/** `tether access what-if` — the reach delta of one proposed change. */
export async function accessWhatIfCommand(
  opts: SourceOptions & {
    apply?: string[];
    remove?: string[];
    agentFile?: string;
    grant?: string[];
    revoke?: string[];
    output?: string;
  },
): Promise<number> {
  const changes: ProposedChange[] = [];
  if (opts.apply?.length || opts.remove?.length) {
    const apply: KubeObject[] = [];
    for (const f of opts.apply ?? []) apply.push(...readObjects(f).objects.map((o) => o.object));
    changes.push({ kind: 'objects', apply, remove: (opts.remove ?? []).map(parseRemoveArg) });
  }
  if (opts.agentFile) {
    const split = splitAgents(readObjects(opts.agentFile).objects);
    if (split.problems.some((p) => p.severity === 'error'))
      throw new UsageError(`${opts.agentFile}: ${split.problems.map((p) => p.message).join('; ')}`);
    if (split.agents.length !== 1)
      throw new UsageError(`${opts.agentFile} must hold exactly one Agent (found ${split.agents.length})`);
    changes.push({ kind: 'agent', agent: split.agents[0] as NonNullable<(typeof split.agents)[0]> });
  }
  for (const g of opts.grant ?? []) changes.push({ kind: 'gateway-grant', grant: parseGrantArg(g) });
  for (const g of opts.revoke ?? []) changes.push({ kind: 'gateway-grant', grant: parseGrantArg(g), revoke: true });
  if (changes.length === 0)
    throw new UsageError('give a change: --apply/--remove (objects), --agent-file <file>, --grant or --revoke');
  const model = await loadModel(opts);
  const delta = whatIf(model, changes.length === 1 ? (changes[0] as ProposedChange) : { kind: 'several', changes });
  if (opts.output === 'json') {
    const { after: _after, ...rest } = delta;
    printJson(rest);
  } else {
    console.log(`What-if: ${delta.change}`);
    for (const l of delta.lines) console.log(`  ${l}`);
    if (delta.problems.length) {
      console.log('Problems with the change:');
      for (const l of groupProblems(delta.problems)) console.log(`  ${l}`);
    }
  }
  return 0;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

function sourceOptions(c: Command): Command {
  return c
    .option(
      '-f, --file <path>',
      'cluster objects: a file or directory of YAML/JSON (kubectl get -A -o yaml dumps); repeatable',
      collect,
    )
    .option('--kubeconfig [path]', 'read the live cluster (default kubeconfig when no path)')
    .option('--context <name>', 'kubeconfig context')
    .option('-p, --policy <path>', 'Tether policy (Agents): a file or directory; repeatable', collect)
    .option('-g, --gateway <file>', 'MCP gateway grants (servers, tools, runAs, grants)')
    .option(
      '--aggregation <mode>',
      'emulate (default: aggregated ClusterRoles as the controller keeps them) or stored',
    );
}

/** The `access` command tree, for src/cli/main.ts: `program.addCommand(accessCommand(run))`. */
export function accessCommand(run: (fn: () => number | Promise<number>) => void): Command {
  const access = new Command('access').description(
    'effective access: what agents can really reach through identities, tools and escalations',
  );
  sourceOptions(
    access
      .command('can')
      .description(
        'would the RBAC authorizer allow it, and through which binding → role → rule (offline kubectl auth can-i)',
      )
      .argument('<identity>', 'username, e.g. system:serviceaccount:shop:deployer or alice@example.com')
      .argument('<verb>')
      .argument('<resource>', 'pods, pods/log, deployments.apps/scale, or a non-resource URL such as /healthz')
      .option('-n, --namespace <ns>')
      .option('--name <name>')
      .option('--group <group>', 'a group of the identity; repeatable', collect)
      .option(
        '--no-implicit-groups',
        'do not add the groups the API server adds (system:authenticated, system:serviceaccounts…)',
      )
      .option('--all', 'list every grant that allows it')
      .option('-o, --output <format>', 'text or json', 'text'),
  ).action((identity: string, verb: string, resource: string, opts) =>
    run(() => accessCanCommand(identity, verb, resource, opts)),
  );
  sourceOptions(
    access
      .command('analyze')
      .description("every agent's effective access vs its boundary; exit 3 when there are findings")
      .option('-o, --output <format>', 'table, json, dot or svg', 'table')
      .option('--out <file>', 'write to a file instead of stdout')
      .option('--agent <name>', 'only this agent; repeatable', collect)
      .option('--max-findings <n>', 'findings shown per agent (default 200; counts cover all)'),
  ).action((opts) => run(() => accessAnalyzeCommand(opts)));
  sourceOptions(
    access
      .command('what-if')
      .description('the reach delta of one proposed change')
      .option('--apply <file>', 'objects to create or replace (RBAC, service accounts, …); repeatable', collect)
      .option('--remove <Kind/[ns/]name>', 'an object to delete; repeatable', collect)
      .option('--agent-file <file>', "an Agent's proposed spec (e.g. a wider boundary)")
      .option('--grant <agent=server/tool[,tool]>', 'a gateway tool grant to add; repeatable', collect)
      .option('--revoke <agent=server/tool[,tool]>', 'a gateway tool grant to revoke; repeatable', collect)
      .option('-o, --output <format>', 'text or json', 'text'),
  ).action((opts) => run(() => accessWhatIfCommand(opts)));
  return access;
}
