// `tether decide --cluster`: containment decided offline against the dump `tether access` reads.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';

const root = new URL('../../', import.meta.url).pathname;
const tether = (...args: string[]) =>
  spawnSync(process.execPath, [join(root, 'bin/tether.js'), ...args], { cwd: root, encoding: 'utf8' });

const dir = mkdtempSync(join(tmpdir(), 'tether-decide-cluster-'));
writeFileSync(
  join(dir, 'policy.yaml'),
  [
    {
      apiVersion: 'tether.dev/v1alpha1',
      kind: 'GovernancePolicy',
      metadata: { name: 'default' },
      spec: { agentSelectors: { serviceAccountNamespaces: ['agents'] } },
    },
    {
      apiVersion: 'tether.dev/v1alpha1',
      kind: 'Agent',
      metadata: { name: 'builder' },
      spec: {
        owner: { id: 'alice@example.com' },
        authorityClass: 'autonomous',
        identities: [{ kind: 'ServiceAccount', namespace: 'agents', name: 'builder' }],
        boundary: { namespaces: ['shop'], rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['create'] }] },
      },
    },
  ]
    .map((d) => stringify(d))
    .join('---\n'),
);
const action = (account: string) => {
  const f = join(dir, `action-${account}.json`);
  writeFileSync(
    f,
    JSON.stringify({
      source: 'api',
      subject: { username: 'system:serviceaccount:agents:builder', groups: [] },
      verb: 'create',
      target: { group: '', version: 'v1', resource: 'pods', namespace: 'shop', name: 'p' },
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p', namespace: 'shop' },
        spec: { serviceAccountName: account, containers: [{ name: 'c', image: 'busybox' }] },
      },
      intent: { summary: 'run the nightly report' },
    }),
  );
  return f;
};
const decide = (account: string, ...extra: string[]) => {
  const r = tether('decide', '--policy', dir, '--action', action(account), ...extra);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { outcome: string; reasons: { rule: string; message: string }[] };
};
const fixture = join(root, 'test/fixtures/cluster');

test('with the cluster dump, a Pod as shop-admin is refused naming what the account can do; as default it is allowed', () => {
  const d = decide('shop-admin', '--cluster', fixture);
  assert.equal(d.outcome, 'deny');
  assert.equal(d.reasons[0]?.rule, 'containment/run-as');
  assert.match(d.reasons[0]?.message ?? '', /service account shop\/shop-admin, which can \* \* \(any group\) in shop/);
  assert.equal(decide('default', '--cluster', fixture).outcome, 'allow');
});

test('without --cluster the agent fails closed and is told why', () => {
  const d = decide('default');
  assert.equal(d.outcome, 'deny');
  assert.match(
    d.reasons[0]?.message ?? '',
    /no cluster view here \(serve with a kubeconfig, or decide with --cluster\)/,
  );
});

test('an unreadable dump is a usage error, not a guess', () => {
  const bad = join(mkdtempSync(join(tmpdir(), 'tether-bad-dump-')), 'broken.yaml');
  writeFileSync(bad, 'kind: [unclosed');
  const r = tether('decide', '--policy', dir, '--action', action('default'), '--cluster', bad);
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /--cluster .*broken\.yaml/);
});
