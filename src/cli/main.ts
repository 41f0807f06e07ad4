import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import type { KindName } from '../policy/schema.ts';
import { completionScript } from './completion.ts';
import { operateCommands } from './commands/operate.ts';
import { ownersCommands } from './commands/owners.ts';
import { UsageError } from './output.ts';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
// Policy, engine and schema modules load only in the command that needs them: `tether --help`,
// `--version` and the API clients start without them.
const policyCommands = () => import('./commands/policy.ts');

const DEFAULT_POLICY = new URL('../../deploy/examples/', import.meta.url).pathname;

function run(fn: () => number | Promise<number>): void {
  Promise.resolve()
    .then(fn)
    .then((code) => {
      process.exitCode = code;
    })
    .catch((e: unknown) => {
      if (e instanceof UsageError) {
        console.error(`tether: ${e.message}`);
        process.exitCode = e.exitCode;
      } else {
        console.error(`tether: ${(e as Error).message ?? e}`);
        if (process.env.TETHER_DEBUG) console.error(e);
        process.exitCode = 70;
      }
    });
}

// Command trees that load heavy libraries (the Kubernetes client takes a second) are imported
// only when that command runs, so `tether decide` and `tether lint` start fast.
const LAZY: Record<string, { description: string; load: () => Promise<Command> }> = {
  drift: {
    description: 'where the cluster stopped matching Git, attributed to the agent or human who made it so',
    load: async () => (await import('./commands/drift-cli.ts')).driftCli(run),
  },
  gateway: {
    description: "the MCP governance gateway: agents' tool calls decided, explained and contained",
    load: async () => (await import('./commands/gateway-cli.ts')).gatewayCli(run),
  },
  'expansion-review': {
    description: "what approving a boundary expansion would add to an agent's effective access",
    load: async () => (await import('./commands/expansion-review.ts')).expansionReviewCommand(run),
  },
  review: {
    description: 'what a reviewer sees: an approval’s diff, a chain, drift findings, a ledger entry verified here',
    load: async () => (await import('./commands/review-cli.ts')).reviewCommand(run),
  },
  access: {
    description: 'effective access: what agents can really reach through identities, tools and escalations',
    load: async () => (await import('./commands/access.ts')).accessCommand(run),
  },
  ledger: {
    description: 'the tamper-evident record: verify, show, prove, export',
    load: async () => (await import('./commands/ledger-cli.ts')).ledgerCommand(run),
  },
};

export async function buildCli(argv: readonly string[]): Promise<Command> {
  const program = new Command('tether')
    .description('Governs AI agents acting inside Kubernetes.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError();
  program
    .command('lint')
    .description('check Agent and GovernancePolicy documents before they are applied')
    .argument('<dir>', 'directory (or file) of policy YAML')
    .option('-o, --output <format>', 'text or json', 'text')
    .action((dir: string, opts: { output?: string }) =>
      run(async () => (await policyCommands()).lintCommand(dir, opts)),
    );
  program
    .command('decide')
    .description('evaluate one action offline and print the Decision as JSON')
    .option('--policy <dir>', 'policy directory', DEFAULT_POLICY)
    .option('--admission-review <file>', 'an AdmissionReview (admission.k8s.io/v1) JSON file, - for stdin')
    .option('--action <file>', 'an Action JSON file, - for stdin')
    .option('--now <time>', 'evaluate at this ISO time instead of now')
    .option(
      '--cluster <file|dir>',
      'cluster objects (the dump `tether access` reads) for containment: who can do what, who pods run as',
    )
    .action((opts: { policy: string; admissionReview?: string; action?: string; now?: string; cluster?: string }) =>
      run(async () => (await policyCommands()).decideCommand(opts)),
    );
  program
    .command('explain')
    .description('say in plain words what an agent may do')
    .argument('<agent>')
    .option('--policy <dir>', 'policy directory', DEFAULT_POLICY)
    .option('-o, --output <format>', 'text or json', 'text')
    .action((name: string, opts: { policy: string; output?: string }) =>
      run(async () => (await policyCommands()).explainCommand(name, opts)),
    );
  program
    .command('crds')
    .description('print the CustomResourceDefinitions for Agent and GovernancePolicy')
    .action(() =>
      run(async () => {
        const [{ crdYaml }, { KINDS }] = await Promise.all([import('../policy/crd.ts'), import('../policy/schema.ts')]);
        process.stdout.write((Object.keys(KINDS) as KindName[]).map(crdYaml).join('---\n'));
        return 0;
      }),
    );
  program
    .command('serve')
    .description(
      'run the enforcement server: webhooks, decision API, approvals, breakers (SQLite and the example policies by default)',
    )
    .option('-c, --config <file>', 'server configuration YAML')
    .option('--host <host>', 'listen address (default 127.0.0.1)')
    .option('--port <port>', 'listen port (default 8443)')
    .option('--webhook-port <port>', 'also serve the webhooks on this port, from threads of their own')
    .option('--data-dir <dir>', 'data directory (default .tether)')
    .option('--policy <dir>', 'policy directory, watched for changes (default deploy/examples)')
    .option('--kubeconfig <file>', 'take policy from Agent/GovernancePolicy objects in this cluster instead')
    .option('--store <url>', 'sqlite:<file> or postgres://…')
    .action((opts) => run(async () => (await import('./commands/serve.ts')).serveCommand(opts)));
  program
    .command('webhook-config')
    .description('the API server configuration that sends agents, and only agents, to Tether')
    .requiredOption('--url <url>', 'the base URL the API server reaches Tether at (https)')
    .option('--policy <dir>', 'policy directory', DEFAULT_POLICY)
    .option('--ca <file>', "Tether's CA certificate (default: the self-managed CA in <data-dir>/tls)")
    .option('--data-dir <dir>', 'data directory (default .tether)')
    .option(
      '--host <name>',
      'serving certificate name when the CA is created here; repeatable',
      (v: string, acc: string[] = []) => [...acc, v],
    )
    .option(
      '--out-dir <dir>',
      'write every file (webhook, AuthorizationConfiguration, audit) here instead of printing the webhook',
    )
    .option('--config-dir <dir>', 'where the API server will read these files (default: --out-dir)')
    .option('--timeout <seconds>', 'admission webhook timeout')
    .option(
      '--client-cert <file>',
      'client certificate the API server presents to Tether (default: issued by the self-managed CA)',
    )
    .option('--client-key <file>', 'its key')
    .action((opts) => run(async () => (await import('./commands/serve.ts')).webhookConfigCommand(opts)));
  operateCommands(program, run);
  ownersCommands(program, run);
  program
    .command('completion')
    .description('print a shell completion script: source <(tether completion bash), or zsh')
    .argument('[shell]', 'bash or zsh', 'bash')
    .action((shell: string) =>
      run(() => {
        if (shell !== 'bash' && shell !== 'zsh') throw new UsageError(`completion: bash or zsh, not ${shell}`);
        process.stdout.write(completionScript(shell, program));
        return 0;
      }),
    );
  for (const [name, lazy] of Object.entries(LAZY)) {
    // Completion describes every command, so it loads them all.
    if (argv[2] === name || argv[2] === 'completion') program.addCommand(await lazy.load());
    else
      program
        .command(name)
        .description(lazy.description)
        .allowUnknownOption()
        .helpOption(false)
        .action(() => undefined);
  }
  return program;
}

const program = await buildCli(process.argv);
program.exitOverride();
try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exitCode = e.exitCode === 0 ? 0 : 2;
  else throw e;
}
