// Runs `tether access …` the way src/cli/main.ts will once it is wired: node tether-access.ts access can …
import { Command } from 'commander';
import { accessCommand } from '../../../../src/cli/commands/access.ts';
import { UsageError } from '../../../../src/cli/output.ts';

const run = (fn: () => number | Promise<number>) => {
  Promise.resolve()
    .then(fn)
    .then((code) => {
      process.exitCode = code;
    })
    .catch((e: unknown) => {
      console.error(`tether: ${(e as Error).message}`);
      process.exitCode = e instanceof UsageError ? e.exitCode : 70;
    });
};
const program = new Command('tether');
program.addCommand(accessCommand(run));
await program.parseAsync(process.argv);
