// `tether gateway` for the benchmark, in its own process, through its command function:
//   node gateway-process.ts CONFIG POLICY STORE [--stdio]
// HTTP: prints {"url": …} once it listens on 127.0.0.1 and stops on SIGTERM. --stdio: serves the
// agent on stdin/stdout (token from the env variable the config names) until stdin closes.
import { gatewayCommand } from '../../src/cli/commands/gateway.ts';

const [config, policy, store, mode] = process.argv.slice(2) as [string, string, string, string | undefined];
process.exitCode = await gatewayCommand({
  config,
  policy,
  store,
  stdio: mode === '--stdio',
  host: '127.0.0.1',
  port: 0,
  onListening: (url) => process.stdout.write(`${JSON.stringify({ url })}\n`),
});
