// `tether drift` as the CLI runs it, offline: the live state comes from a dump file.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseAllDocuments, stringify } from 'yaml';
import { type DriftCommandOptions, driftCommand } from '../../../src/cli/commands/drift.ts';
import { UsageError } from '../../../src/cli/output.ts';
import type { LedgerLeaf } from '../../../src/ledger/leaf.ts';
import {
  AGENT,
  agentDecision,
  auditEvent,
  type Boutique,
  boutique,
  container,
  gitIn,
  memoryLedger,
  spec,
} from './support.ts';

let b: Boutique;
let work: string;
let dump: string;
let scaledAt: string;

before(async () => {
  b = await boutique();
  work = mkdtempSync(join(tmpdir(), 'tether-drift-cli-'));
  scaledAt = b.api.tick();
  b.api.update('Deployment', 'default', 'loadgenerator', 'kubectl', (o) => void (spec(o).replicas = 2), {
    subresource: 'scale',
  });
  b.api.tick(30);
  b.api.update(
    'Deployment',
    'default',
    'frontend',
    'kubectl-set',
    (o) => void (container(o, 'server').image = 'frontend:debug'),
  );
  dump = join(work, 'live.yaml');
  // What `kubectl get deploy,svc,sa -o yaml --show-managed-fields` writes.
  writeFileSync(
    dump,
    stringify({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: b.api.list() }),
  );
});
after(() => {
  b.repo.cleanup();
  rmSync(work, { recursive: true, force: true });
});

async function run(
  opts: Partial<DriftCommandOptions>,
  deps: Parameters<typeof driftCommand>[1] = {},
): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await driftCommand(
    { repo: b.repo.dir, path: 'kustomize', live: dump, ...opts },
    { write: (t) => (out += t), now: () => new Date('2026-03-01T10:00:00Z'), ...deps },
  );
  return { code, out };
}

const ledger = () =>
  memoryLedger([
    agentDecision({
      time: scaledAt,
      agent: AGENT.name,
      owner: AGENT.owner,
      verb: 'patch',
      resource: 'deployments',
      namespace: 'default',
      name: 'loadgenerator',
      subresource: 'scale',
      intent: 'load test',
    }),
  ]);

test('table output, exit code 1 when the cluster differs from Git', async () => {
  const { code, out } = await run({}, { ledger: ledger() });
  assert.equal(code, 1);
  assert.match(out, /^2 of 35 object\(s\) differ from Git at HEAD/);
  assert.match(out, /loadgenerator\s+spec\.replicas\s+1\s+2\s+agent scaler-bot \(owner alice@example\.com\)/);
  assert.match(out, /frontend\s+spec\.template\.spec\.containers\[name=server\]\.image\s+.*human/);
});

test('a JSON dump (kubectl get -o json) reads the same as a YAML one', async () => {
  const json = join(work, 'live.json');
  writeFileSync(json, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: b.api.list() }));
  const a = JSON.parse((await run({ output: 'json', live: json })).out);
  const y = JSON.parse((await run({ output: 'json' })).out);
  assert.deepEqual(a.report.findings, y.report.findings);
  assert.equal(a.report.findings.length, 2);
});

test('exit code 0 when in sync (ignore rules from a file and from --ignore-manager)', async () => {
  const rules = join(work, 'ignore.yaml');
  writeFileSync(
    rules,
    stringify([
      {
        group: 'apps',
        kind: 'Deployment',
        name: 'loadgenerator',
        jsonPointers: ['/spec/replicas'],
        reason: 'load tests scale it',
      },
    ]),
  );
  const { code, out } = await run({ ignore: rules, ignoreManager: ['kubectl-set'] });
  assert.equal(code, 0, out);
  assert.match(out, /^0 of 35 object\(s\) differ from Git/);
});

test('JSON output carries the report, the notification and records ledger leaves through the caller', async () => {
  const recorded: LedgerLeaf[] = [];
  const { out } = await run(
    { output: 'json', respond: 'notify' },
    { ledger: ledger(), recordLeaves: async (l) => void recorded.push(...l) },
  );
  const parsed = JSON.parse(out);
  assert.equal(parsed.report.findings.length, 2);
  assert.equal(parsed.report.revision.commit, b.repo.commit);
  assert.equal(parsed.notification.owners[0].owner, AGENT.owner);
  assert.deepEqual(
    recorded.map((l) => [l.kind, l.target?.name]),
    [
      ['drift', 'frontend'],
      ['drift', 'loadgenerator'],
    ],
  );
});

test('audit events from a log file raise confidence', async () => {
  const log = join(work, 'audit.log');
  const event = auditEvent({
    auditID: 'a-1',
    username: 'carol@example.com',
    verb: 'patch',
    resource: 'deployments',
    namespace: 'default',
    name: 'frontend',
    at: b.api.get('Deployment', 'default', 'frontend')?.metadata.managedFields?.find((m) => m.manager === 'kubectl-set')
      ?.time as string,
    fieldManager: 'kubectl-set',
  });
  writeFileSync(log, `${JSON.stringify(event)}\nnot json\n`);
  const parsed = JSON.parse((await run({ output: 'json', auditLog: log })).out);
  const frontend = parsed.report.findings.find((f: { id: { name: string } }) => f.id.name === 'frontend');
  assert.deepEqual(
    [frontend.fields[0].attribution.actor.name, frontend.fields[0].attribution.confidence],
    ['carol@example.com', 'high'],
  );
});

test('PolicyReport output is YAML that kubectl can apply', async () => {
  const { out } = await run({ output: 'policyreport' });
  const docs = parseAllDocuments(out).map((d) => (Array.isArray(d) ? d : d.toJS()));
  assert.equal(docs.length, 1);
  assert.equal(docs[0].kind, 'PolicyReport');
  assert.deepEqual(docs[0].summary, { pass: 33, fail: 2, warn: 0, error: 0, skip: 0 });
});

test("--respond codify writes the agent's change to a branch", async () => {
  const { out } = await run({ respond: 'codify', branch: 'tether/cli-codify' }, { ledger: ledger() });
  assert.match(
    out,
    /Codified 1 change\(s\) on branch tether\/cli-codify \(commit [0-9a-f]{12}, files kustomize\/base\/loadgenerator\.yaml\)/,
  );
  assert.match(
    gitIn(b.repo.dir, ['show', 'tether/cli-codify', '--', 'kustomize/base/loadgenerator.yaml']),
    /- {2}replicas: 1\n\+ {2}replicas: 2/,
  );
});

test('bad options and inputs are refused with a precise message', async () => {
  const usage = async (opts: Partial<DriftCommandOptions>, pattern: RegExp) =>
    assert.rejects(run(opts), (e: unknown) => e instanceof UsageError && pattern.test(e.message));
  await usage({ output: 'xml' }, /--output must be one of table, json, policyreport \(got 'xml'\)/);
  await usage({ respond: 'delete' }, /--respond must be one of report, notify, codify, revert/);
  await usage({ kubeconfig: '/k' }, /give --live <dump> or --kubeconfig <file>, not both/);
  await usage({ respond: 'revert' }, /--respond revert changes the cluster: it needs --kubeconfig/);
  await usage({ revision: 'nope' }, /revision 'nope' does not exist/);
  await usage({ ignore: join(work, 'none.yaml') }, /cannot read ignore rules .*none\.yaml: ENOENT/);
  await usage(
    { live: undefined, kubeconfig: join(work, 'missing-kubeconfig') },
    /cannot use kubeconfig .*missing-kubeconfig/,
  );
});
