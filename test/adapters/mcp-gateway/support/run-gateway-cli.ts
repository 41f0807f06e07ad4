// Runs `tether gateway` through its command function, as commander will: node run-gateway-cli.ts
// --config F --policy D --store URL [--stdio] [--port N].
import { parseArgs } from 'node:util';
import { gatewayCommand } from '../../../../src/cli/commands/gateway.ts';

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    policy: { type: 'string' },
    store: { type: 'string' },
    stdio: { type: 'boolean' },
    port: { type: 'string' },
  },
});
try {
  process.exitCode = await gatewayCommand({
    config: values.config as string,
    policy: values.policy as string,
    store: values.store,
    stdio: values.stdio,
    port: values.port === undefined ? undefined : Number(values.port),
    onListening: (url) => process.stdout.write(`${JSON.stringify({ url })}\n`),
  });
} catch (e) {
  process.stderr.write(`tether: ${(e as Error).message}\n`);
  process.exitCode = 2;
}
