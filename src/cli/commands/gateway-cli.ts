import { Command } from 'commander';
import { UsageError } from '../output.ts';
import { gatewayCommand } from './gateway.ts';

const DEFAULT_POLICY = new URL('../../../deploy/examples/', import.meta.url).pathname;

export function gatewayCli(run: (fn: () => Promise<number>) => void): Command {
  return new Command('gateway')
    .description(
      'the MCP governance gateway in front of upstream MCP servers (Streamable HTTP, or --stdio for one local agent)',
    )
    .requiredOption('-c, --config <file>', 'gateway YAML (see deploy/examples/gateway/gateway.yaml)')
    .option('--policy <dir>', 'Agent and GovernancePolicy documents, watched', DEFAULT_POLICY)
    .option('--store <url>', 'sqlite:<file> or postgres://… (default sqlite:.tether/tether.db)')
    .option(
      '--data-dir <dir>',
      'where keys and TLS files live (default .tether); processes sharing a store share its signing key',
    )
    .option('--stdio', 'serve one local agent on stdin/stdout')
    .option('--host <host>')
    .option('--port <port>')
    .option('--export-access', 'print the tool grants for tether access analyze --gateway, then exit')
    .action(
      (o: {
        config: string;
        policy: string;
        store?: string;
        dataDir?: string;
        stdio?: boolean;
        host?: string;
        port?: string;
        exportAccess?: boolean;
      }) =>
        run(() => {
          const port = o.port === undefined ? undefined : Number(o.port);
          if (port !== undefined && !Number.isInteger(port)) throw new UsageError(`--port: not a port: ${o.port}`);
          return gatewayCommand({ ...o, port });
        }),
    );
}
