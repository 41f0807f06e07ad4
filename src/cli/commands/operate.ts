// Day-2 commands that talk to a running Tether: approvals, proposals, expansions, breakers, agents.
import type { Command } from 'commander';
import { apiClient, type ClientOptions } from '../client.ts';
import { printJson, UsageError } from '../output.ts';

type Run = (fn: () => Promise<number>) => void;

interface Row {
  [k: string]: unknown;
}

export function table(rows: readonly Row[], columns: readonly string[]): string {
  if (rows.length === 0) return '(none)';
  const cells = rows.map((r) =>
    columns.map((c) => {
      const v = r[c];
      return v === undefined || v === null
        ? ''
        : Array.isArray(v)
          ? v.join(',')
          : typeof v === 'number' && c.endsWith('At')
            ? new Date(v).toISOString()
            : String(v);
    }),
  );
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] as string).length)));
  const line = (xs: readonly string[]) =>
    xs
      .map((x, i) => x.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}

function requireReason(reason: string | undefined): string {
  if (!reason?.trim()) throw new UsageError('--reason is required: the ledger records why a human lifted a control');
  return reason;
}

export function withClientOptions(cmd: Command): Command {
  return cmd
    .option('--server <url>', 'Tether API URL (TETHER_SERVER; default https://127.0.0.1:8443)')
    .option('--token <token>', 'bearer token (TETHER_TOKEN; default <data-dir>/admin-token)')
    .option('--ca <file>', "Tether's CA certificate (TETHER_CA; default <data-dir>/tls/ca.crt)")
    .option('--data-dir <dir>', 'where a local tether serve keeps its data (default .tether)')
    .option('-o, --output <format>', 'table or json', 'table');
}

export function operateCommands(program: Command, run: Run): void {
  const out = (o: { output?: string }, data: unknown, text: () => string) => {
    if (o.output === 'json') printJson(data);
    else console.log(text());
  };

  const approvals = program.command('approvals').description('pending actions that need a human');
  withClientOptions(
    approvals
      .command('list')
      .option('--status <status>', 'pending, approved or denied', 'pending')
      .option('--agent <name>'),
  ).action((o: ClientOptions & { status: string; agent?: string; output?: string }) =>
    run(async () => {
      const q = new URLSearchParams({ status: o.status, ...(o.agent ? { agent: o.agent } : {}) });
      const rows = await apiClient(o).get<Row[]>(`/v1/approvals?${q}`);
      out(o, rows, () => table(rows, ['id', 'agent', 'status', 'summary', 'approvedBy', 'expiresAt']));
      return 0;
    }),
  );
  for (const verdict of ['approve', 'deny'] as const) {
    withClientOptions(
      approvals.command(verdict).argument('<id>').option('--reason <text>', 'why (recorded in the ledger)'),
    ).action((id: string, o: ClientOptions & { reason?: string; output?: string }) =>
      run(async () => {
        const r = await apiClient(o).post<{ approval: Row; ledgerIndex: number }>(
          `/v1/approvals/${encodeURIComponent(id)}/${verdict}`,
          { reason: requireReason(o.reason) },
        );
        out(o, r, () => `${id}: ${r.approval.status} (ledger #${r.ledgerIndex})`);
        return 0;
      }),
    );
  }

  const expansions = program.command('expansions').description('requests to widen an agent boundary');
  withClientOptions(
    expansions.command('list').option('--status <status>', 'pending, approved or denied', 'pending'),
  ).action((o: ClientOptions & { status: string; output?: string }) =>
    run(async () => {
      const rows = await apiClient(o).get<Row[]>(`/v1/expansions?status=${encodeURIComponent(o.status)}`);
      out(o, rows, () => table(rows, ['id', 'agent', 'status', 'summary', 'requestedBy']));
      return 0;
    }),
  );
  for (const verdict of ['approve', 'deny'] as const) {
    withClientOptions(expansions.command(verdict).argument('<id>').option('--reason <text>')).action(
      (id: string, o: ClientOptions & { reason?: string; output?: string }) =>
        run(async () => {
          const r = await apiClient(o).post<{ request: Row; ledgerIndex: number }>(
            `/v1/expansions/${encodeURIComponent(id)}/${verdict}`,
            { reason: requireReason(o.reason) },
          );
          out(o, r, () => `${id}: ${r.request.status} (ledger #${r.ledgerIndex})`);
          return 0;
        }),
    );
  }

  withClientOptions(
    program.command('proposals').description('changes advisory agents proposed').option('--agent <name>'),
  ).action((o: ClientOptions & { agent?: string; output?: string }) =>
    run(async () => {
      const rows = await apiClient(o).get<Row[]>(
        `/v1/proposals${o.agent ? `?agent=${encodeURIComponent(o.agent)}` : ''}`,
      );
      out(o, rows, () => table(rows, ['seq', 'agent', 'rules', 'ledgerIndex', 'at']));
      return 0;
    }),
  );

  const breakers = program.command('breakers').description('circuit breakers and the global kill switch');
  withClientOptions(breakers.command('list')).action((o: ClientOptions & { output?: string }) =>
    run(async () => {
      const r = await apiClient(o).get<{ breakers: Row[]; killSwitch: Row }>('/v1/breakers');
      out(
        o,
        r,
        () =>
          `kill switch: ${r.killSwitch.engaged ? `ENGAGED (${r.killSwitch.reason ?? ''})` : 'off'}\n${table(r.breakers, ['scope', 'key', 'state', 'reason', 'since'])}`,
      );
      return 0;
    }),
  );
  withClientOptions(
    breakers.command('reset').argument('<target>', 'agent name, or chain:<id>').option('--reason <text>'),
  ).action((target: string, o: ClientOptions & { reason?: string; output?: string }) =>
    run(async () => {
      const r = await apiClient(o).post<{ breaker: Row; ledgerIndex: number }>('/v1/breakers/reset', {
        target,
        reason: requireReason(o.reason),
      });
      out(
        o,
        r,
        () => `${target}: ${r.breaker.state} (on probation until its next allowed change; ledger #${r.ledgerIndex})`,
      );
      return 0;
    }),
  );
  for (const [name, engaged] of [
    ['kill', true],
    ['release', false],
  ] as const) {
    withClientOptions(
      breakers
        .command(name)
        .description(
          engaged ? 'engage the global kill switch: refuse every agent mutation' : 'release the global kill switch',
        )
        .option('--reason <text>'),
    ).action((o: ClientOptions & { reason?: string; output?: string }) =>
      run(async () => {
        const r = await apiClient(o).post<{ ledgerIndex: number }>('/v1/killswitch', {
          engaged,
          reason: requireReason(o.reason),
        });
        out(o, r, () => `kill switch ${engaged ? 'engaged' : 'released'} (ledger #${r.ledgerIndex})`);
        return 0;
      }),
    );
  }

  withClientOptions(
    program.command('agents').description('the agents Tether governs, as the server enforces them').argument('[name]'),
  ).action((name: string | undefined, o: ClientOptions & { output?: string }) =>
    run(async () => {
      const c = apiClient(o);
      if (name) {
        const r = await c.get<{ explanation: string }>(`/v1/agents/${encodeURIComponent(name)}`);
        out(o, r, () => r.explanation);
      } else {
        const rows = await c.get<Row[]>('/v1/agents');
        out(o, rows, () => table(rows, ['name', 'owner', 'authorityClass', 'mode', 'breaker']));
      }
      return 0;
    }),
  );
}
