// `tether drift`: compares a Git working copy with the cluster (or a dump), attributes every
// difference, and responds: report (default), notify, codify or revert. Thin: parse, call, print.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { AgentDirectory } from '../../analysis/drift/actors.ts';
import { codify, type CodifyResult } from '../../analysis/drift/codify.ts';
import { loadDesiredState } from '../../analysis/drift/desired.ts';
import { detectDrift, detectInput } from '../../analysis/drift/detect.ts';
import { DriftInputError } from '../../analysis/drift/errors.ts';
import {
  auditEvidenceFromEvents,
  type AuditEvidence,
  type LedgerEvidence,
  parseAuditLog,
} from '../../analysis/drift/evidence.ts';
import { formatTable } from '../../analysis/drift/format-table.ts';
import type { IgnoreRule } from '../../analysis/drift/ignore.ts';
import { type KubeClient, kubeClientFromKubeconfig } from '../../analysis/drift/kube-client.ts';
import { driftLeaves } from '../../analysis/drift/ledger-leaves.ts';
import { type LiveState, loadLiveFromCluster, loadLiveFromDump } from '../../analysis/drift/live.ts';
import type { DriftReport } from '../../analysis/drift/model.ts';
import { notificationPayload } from '../../analysis/drift/notify.ts';
import { toPolicyReports } from '../../analysis/drift/policy-report.ts';
import { revert, type RevertResult } from '../../analysis/drift/revert.ts';
import type { LedgerLeaf } from '../../ledger/leaf.ts';
import { UsageError } from '../output.ts';

export interface DriftCommandOptions {
  readonly repo: string;
  readonly revision?: string;
  /** Directory or file below --repo to render (e.g. kustomize/overlays/prod). */
  readonly path?: string;
  /** Namespace for namespaced objects that name none (default 'default'). */
  readonly namespace?: string;
  /** Live state from a dump (List YAML/JSON) instead of a cluster. */
  readonly live?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly output?: string;
  readonly respond?: string;
  /** YAML file with a list of ignore rules. */
  readonly ignore?: string;
  /** Ignore differences in fields owned by these field managers. */
  readonly ignoreManager?: readonly string[];
  /** audit.k8s.io/v1 events (log backend JSON lines or EventList). */
  readonly auditLog?: string;
  /** Field managers that apply Git (default: Argo CD and Flux controllers). */
  readonly applier?: readonly string[];
  /** Branch name for --respond codify. */
  readonly branch?: string;
}

export interface DriftCommandDeps {
  readonly ledger?: LedgerEvidence;
  readonly agents?: AgentDirectory;
  /** Receives the kind 'drift' ledger leaves; the caller appends them to the ledger. */
  readonly recordLeaves?: (leaves: readonly LedgerLeaf[]) => Promise<void>;
  readonly kubeClient?: KubeClient;
  readonly write?: (text: string) => void;
  readonly now?: () => Date;
}

const OUTPUTS = ['table', 'json', 'policyreport'] as const;
const RESPONSES = ['report', 'notify', 'codify', 'revert'] as const;

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')} (got '${value}')`);
  return value as T;
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

async function ignoreRules(opts: DriftCommandOptions): Promise<IgnoreRule[]> {
  const rules: IgnoreRule[] = [];
  if (opts.ignore) {
    let parsed: unknown;
    try {
      parsed = parseYaml(await readText(opts.ignore, 'ignore rules'));
    } catch (e) {
      throw new UsageError(`${opts.ignore}: not valid YAML: ${(e as Error).message}`);
    }
    const list = Array.isArray(parsed) ? parsed : (parsed as { ignore?: unknown } | null)?.ignore;
    if (!Array.isArray(list))
      throw new UsageError(
        `${opts.ignore}: expected a list of rules (group, kind, namespace, name, jsonPointers, managers, reason)`,
      );
    list.forEach((r, i) => {
      if (typeof r !== 'object' || r === null) throw new UsageError(`${opts.ignore}: rule ${i + 1} is not an object`);
      rules.push(r as IgnoreRule);
    });
  }
  if (opts.ignoreManager?.length) rules.push({ managers: opts.ignoreManager, reason: 'ignored on the command line' });
  return rules;
}

async function auditEvidence(file: string | undefined): Promise<AuditEvidence | undefined> {
  if (!file) return undefined;
  const { events } = parseAuditLog(await readText(file, 'audit log'));
  return auditEvidenceFromEvents(events);
}

interface Outcome {
  readonly report: DriftReport;
  readonly notification?: ReturnType<typeof notificationPayload>;
  readonly codify?: CodifyResult;
  readonly revert?: RevertResult;
}

function printTable(o: Outcome): string {
  let text = formatTable(o.report);
  if (o.notification) text += `\nNotification: ${o.notification.title}\n${o.notification.text}\n`;
  if (o.codify) {
    const c = o.codify;
    text += c.commit
      ? `\nCodified ${c.codified.length} change(s) on branch ${c.branch} (commit ${c.commit.slice(0, 12)}, files ${c.files.join(', ')}): open a pull request from it for review.\n`
      : '\nNothing was codified.\n';
    for (const s of c.skipped) text += `  not codified: ${s.object} ${s.path}: ${s.why}\n`;
  }
  if (o.revert) {
    for (const r of o.revert.reverted) text += `\nReverted ${r.object}: ${r.paths.join(', ')}`;
    for (const f of o.revert.flapping) text += `\nFLAPPING, stopped: ${f.object} ${f.path}: ${f.against}`;
    for (const s of o.revert.skipped) text += `\n  not reverted: ${s.object} ${s.path}: ${s.why}`;
    text += '\n';
  }
  return text;
}

export async function driftCommand(opts: DriftCommandOptions, deps: DriftCommandDeps = {}): Promise<number> {
  const output = oneOf('output', opts.output, OUTPUTS, 'table');
  const respond = oneOf('respond', opts.respond, RESPONSES, 'report');
  if (opts.live && opts.kubeconfig) throw new UsageError('give --live <dump> or --kubeconfig <file>, not both');
  if (respond === 'revert' && opts.live)
    throw new UsageError('--respond revert changes the cluster: it needs --kubeconfig, not a --live dump');
  const write = deps.write ?? ((t: string) => process.stdout.write(t));
  const namespace = opts.namespace ?? 'default';

  try {
    const desired = await loadDesiredState({
      repo: opts.repo,
      ...(opts.revision ? { revision: opts.revision } : {}),
      ...(opts.path ? { path: opts.path } : {}),
      namespace,
    });
    let client: KubeClient | undefined = deps.kubeClient;
    let live: LiveState;
    if (opts.live) live = await loadLiveFromDump(opts.live);
    else {
      client ??= await kubeClientFromKubeconfig(opts.kubeconfig, opts.context).catch((e: unknown) => {
        throw new UsageError(`cannot use kubeconfig ${opts.kubeconfig ?? '(default)'}: ${(e as Error).message}`);
      });
      live = await loadLiveFromCluster(client, desired.objects);
    }
    const report = await detectDrift(detectInput(desired, live), {
      namespace,
      ignore: await ignoreRules(opts),
      attribution: {
        ledger: deps.ledger,
        agents: deps.agents,
        appliers: opts.applier?.length ? opts.applier : undefined,
        audit: await auditEvidence(opts.auditLog),
      },
      ...(deps.now ? { now: deps.now() } : {}),
      ...(desired.revision ? { revision: desired.revision } : {}),
      repo: desired.top,
      ...(opts.path ? { path: opts.path } : {}),
      listInSync: output === 'policyreport',
    });
    if (deps.recordLeaves && report.findings.length > 0) await deps.recordLeaves(driftLeaves(report));

    let outcome: Outcome = { report };
    if (respond === 'notify') outcome = { ...outcome, notification: notificationPayload(report) };
    if (respond === 'codify')
      outcome = {
        ...outcome,
        codify: await codify(report, {
          repo: opts.repo,
          ...(opts.path ? { path: opts.path } : {}),
          namespace,
          ...(opts.branch ? { branch: opts.branch } : {}),
        }),
      };
    if (respond === 'revert')
      outcome = {
        ...outcome,
        revert: await revert(report, { applier: client as KubeClient, desired: desired.objects }),
      };

    if (output === 'json') write(`${JSON.stringify(outcome, null, 2)}\n`);
    else if (output === 'policyreport')
      write(
        toPolicyReports(report)
          .map((r) => toYaml(r))
          .join('---\n'),
      );
    else write(printTable(outcome));
    const failed = report.findings.length > 0 || report.problems.some((p) => p.severity === 'error');
    return failed ? 1 : 0;
  } catch (e) {
    if (e instanceof DriftInputError) throw new UsageError(e.message);
    throw e;
  }
}
