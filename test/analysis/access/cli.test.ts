// `tether access can | analyze | what-if` end to end, through the command functions.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseAllDocuments, stringify } from 'yaml';
import { bootstrapDir, repoRoot, shopDir } from './support/build.ts';

const driver = join(repoRoot, 'test', 'analysis', 'access', 'support', 'tether-access.ts');
const tmp = mkdtempSync(join(tmpdir(), 'tether-access-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function tether(...args: string[]) {
  const r = spawnSync(process.execPath, [driver, ...args], { encoding: 'utf8', cwd: repoRoot });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const shop = [
  '-f',
  join(shopDir, 'cluster.yaml'),
  '-f',
  join(bootstrapDir, 'cluster-roles.yaml'),
  '-p',
  join(shopDir, 'agents.yaml'),
  '-g',
  join(shopDir, 'gateway.yaml'),
];

test('can: yes with the grant (exit 0), no (exit 1), json', () => {
  const yes = tether(
    'access',
    'can',
    'system:serviceaccount:mcp:kubernetes-mcp-server',
    'create',
    'pods',
    '-n',
    'shop',
    ...shop,
  );
  assert.equal(yes.code, 0, yes.err);
  assert.match(
    yes.out,
    /^yes: RoleBinding shop\/mcp-edit \(subject ServiceAccount mcp\/kubernetes-mcp-server\) → ClusterRole edit \(aggregated\) → rule \d+/,
  );
  const no = tether(
    'access',
    'can',
    'system:serviceaccount:mcp:kubernetes-mcp-server',
    'create',
    'pods',
    '-n',
    'payments',
    ...shop,
  );
  assert.equal(no.code, 1);
  assert.match(no.out, /^no: /);
  const json = tether(
    'access',
    'can',
    'system:kube-scheduler',
    'get',
    'configmaps',
    '-n',
    'kube-system',
    '--name',
    'extension-apiserver-authentication',
    '-f',
    bootstrapDir,
    '-o',
    'json',
  );
  const j = JSON.parse(json.out);
  assert.equal(j.allowed, true);
  assert.equal(j.grants[0].binding.name, 'system::extension-apiserver-authentication-reader');
  assert.deepEqual(j.user.groups, ['system:authenticated']);
});

test('can: subresources, groups, non-resource URLs and --no-implicit-groups', () => {
  assert.equal(
    tether(
      'access',
      'can',
      'system:serviceaccount:agents:scaler',
      'patch',
      'deployments.apps/scale',
      '-n',
      'shop',
      ...shop,
    ).code,
    0,
  );
  assert.equal(
    tether('access', 'can', 'system:serviceaccount:agents:scaler', 'patch', 'deployments/scale', '-n', 'shop', ...shop)
      .code,
    0,
    'deployments resolves to apps',
  );
  assert.equal(tether('access', 'can', 'alice', 'get', '/version', '-f', bootstrapDir).code, 0);
  assert.equal(tether('access', 'can', 'alice', 'get', '/version', '-f', bootstrapDir, '--no-implicit-groups').code, 1);
});

test('analyze: table, json, dot, svg; exit 3 when there are findings', () => {
  const table = tether('access', 'analyze', ...shop);
  assert.equal(table.code, 3, table.err);
  assert.match(table.out, /Effective access: 2 agent\(s\), 9 finding\(s\)/);
  const json = JSON.parse(tether('access', 'analyze', ...shop, '-o', 'json', '--agent', 'triage').out);
  assert.equal(json.agents.length, 1);
  assert.equal(json.agents[0].findings[0].severity, 'high');
  assert.ok(json.agents[0].findings[0].path.length >= 4);
  assert.match(tether('access', 'analyze', ...shop, '-o', 'dot').out, /^digraph access/);
  const svgFile = join(tmp, 'a.svg');
  const svg = tether('access', 'analyze', ...shop, '-o', 'svg', '--out', svgFile);
  const written = readFileSync(svgFile, 'utf8');
  assert.ok(written.includes('<svg') || (written.startsWith('digraph') && /DOT instead/.test(svg.err)));
});

test('what-if: a boundary expansion from an Agent file, a grant, objects', () => {
  const wider = join(tmp, 'triage.yaml');
  const triage = parseAllDocuments(readFileSync(join(shopDir, 'agents.yaml'), 'utf8'))[0]?.toJS();
  triage.spec.boundary.rules.push({ apiGroups: [''], resources: ['pods'], verbs: ['create'] });
  writeFileSync(wider, stringify(triage));
  const r = tether('access', 'what-if', ...shop, '--agent-file', wider);
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.out,
    /triage: approving this adds: create pods in shop → any service account in shop \(3: shop\/default, shop\/deployer, shop\/web\)/,
  );
  const g = JSON.parse(tether('access', 'what-if', ...shop, '--grant', 'scaler=k8s/pods_run', '-o', 'json').out);
  assert.ok(g.agents.some((a: { agent: string }) => a.agent === 'scaler'));
  const rb = join(tmp, 'rb.yaml');
  writeFileSync(
    rb,
    'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: { name: oops }\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin }\nsubjects: [{ kind: ServiceAccount, name: triage, namespace: agents }]\n',
  );
  const o = tether('access', 'what-if', ...shop, '--apply', rb);
  assert.match(o.out, /triage: \d+ new permission\(s\) beyond its boundary/);
});

test('usage errors are one clear line with exit 2', () => {
  const r = tether('access', 'analyze');
  assert.equal(r.code, 2);
  assert.match(r.err, /give cluster objects with -f/);
  assert.equal(tether('access', 'analyze', ...shop, '-o', 'xml').code, 2);
  assert.equal(tether('access', 'what-if', ...shop).code, 2);
  assert.match(tether('access', 'analyze', ...shop, '--agent', 'nobody').err, /no Agent named nobody/);
});
