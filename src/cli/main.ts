import { Command, CommanderError } from 'commander';
import { crdYaml } from '../policy/crd.ts';
import { KINDS, type KindName } from '../policy/schema.ts';
import { decideCommand, explainCommand, lintCommand } from './commands/policy.ts';
import { UsageError } from './output.ts';

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

export function buildCli(): Command {
  const program = new Command('tether').description('Governs AI agents acting inside Kubernetes.').showHelpAfterError();
  program
    .command('lint')
    .description('check Agent and GovernancePolicy documents before they are applied')
    .argument('<dir>', 'directory (or file) of policy YAML')
    .option('-o, --output <format>', 'text or json', 'text')
    .action((dir: string, opts: { output?: string }) => run(() => lintCommand(dir, opts)));
  program
    .command('decide')
    .description('evaluate one action offline and print the Decision as JSON')
    .option('--policy <dir>', 'policy directory', DEFAULT_POLICY)
    .option('--admission-review <file>', 'an AdmissionReview (admission.k8s.io/v1) JSON file, - for stdin')
    .option('--action <file>', 'an Action JSON file, - for stdin')
    .option('--now <time>', 'evaluate at this ISO time instead of now')
    .action((opts: { policy: string; admissionReview?: string; action?: string; now?: string }) => run(() => decideCommand(opts)));
  program
    .command('explain')
    .description('say in plain words what an agent may do')
    .argument('<agent>')
    .option('--policy <dir>', 'policy directory', DEFAULT_POLICY)
    .option('-o, --output <format>', 'text or json', 'text')
    .action((name: string, opts: { policy: string; output?: string }) => run(() => explainCommand(name, opts)));
  program
    .command('crds')
    .description('print the CustomResourceDefinitions for Agent and GovernancePolicy')
    .action(() =>
      run(() => {
        process.stdout.write((Object.keys(KINDS) as KindName[]).map(crdYaml).join('---\n'));
        return 0;
      }),
    );
  return program;
}

const program = buildCli();
program.exitOverride();
try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exitCode = e.exitCode === 0 ? 0 : 2;
  else throw e;
}
