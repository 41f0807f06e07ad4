import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;
const tether = (...args: string[]) =>
  spawnSync(process.execPath, [join(root, 'bin/tether.js'), ...args], { encoding: 'utf8', cwd: root });
const fixture = (f: string) => join(root, 'test/fixtures/admission', f);

describe('tether decide', () => {
  test('an AdmissionReview past a CEL condition is denied; exit 0', () => {
    const r = tether(
      'decide',
      '--policy',
      'deploy/examples',
      '--admission-review',
      fixture('scale-update.json'),
      '--now',
      '2026-11-25T12:00:00Z',
    );
    assert.equal(r.status, 0, r.stderr);
    const d = JSON.parse(r.stdout);
    assert.equal(d.outcome, 'deny');
    assert.equal(d.agent.name, 'scaler-bot');
    assert.ok(
      d.reasons.some(
        (x: { rule: string; message: string }) =>
          x.rule === 'boundary/condition' && /at most 20 replicas/.test(x.message),
      ),
    );
    assert.ok(d.reasons.some((x: { rule: string }) => x.rule === 'intent/missing'));
  });
  test('a patch with intent inside the boundary is allowed', () => {
    const r = tether(
      'decide',
      '--policy',
      'deploy/examples',
      '--admission-review',
      fixture('patch-with-intent.json'),
      '--now',
      '2026-11-25T12:00:00Z',
    );
    assert.equal(r.status, 0, r.stderr);
    const d = JSON.parse(r.stdout);
    assert.equal(d.outcome, 'allow', r.stdout);
    assert.ok(d.effects.some((e: { kind: string }) => e.kind === 'budget.consume'));
  });
  test('an Action file works too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-cli-'));
    const f = join(dir, 'a.json');
    writeFileSync(
      f,
      JSON.stringify({
        subject: { username: 'system:serviceaccount:agents:triage-bot' },
        verb: 'delete',
        target: { group: 'apps', resource: 'deployments', namespace: 'shop', name: 'web' },
        intent: 'clean up',
      }),
    );
    const d = JSON.parse(tether('decide', '--policy', 'deploy/examples', '--action', f).stdout);
    assert.equal(d.outcome, 'deny');
    assert.equal(d.proposal, true);
  });
  const bad: [string, string, RegExp][] = [
    ['not JSON', '{"kind":', /is not valid JSON/],
    [
      'wrong apiVersion',
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: {} }),
      /apiVersion: must be admission\.k8s\.io\/v1/,
    ],
    [
      'missing uid',
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { operation: 'CREATE' } }),
      /request\.uid: is required/,
    ],
    [
      'bad intent annotation',
      JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: 'u',
          operation: 'CREATE',
          resource: { group: '', version: 'v1', resource: 'pods' },
          userInfo: { username: 'x' },
          object: { metadata: { annotations: { 'tether.dev/intent': '{bad' } } },
        },
      }),
      /tether\.dev\/intent.*not valid JSON/,
    ],
  ];
  for (const [name, body, expected] of bad) {
    test(`bad input: ${name} → exit 2 with a precise message, no stack trace`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'tether-cli-'));
      const f = join(dir, 'r.json');
      writeFileSync(f, body);
      const r = tether('decide', '--policy', 'deploy/examples', '--admission-review', f);
      assert.equal(r.status, 2);
      assert.match(r.stderr, expected);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    });
  }
});

describe('tether lint and explain', () => {
  test('the example policies lint clean (warnings only)', () => {
    const r = tether('lint', 'deploy/examples', '--output', 'json');
    assert.equal(r.status, 0, r.stdout);
    assert.equal(JSON.parse(r.stdout).errors, 0);
  });
  test('errors exit non-zero', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-lint-'));
    writeFileSync(
      join(dir, 'a.yaml'),
      'apiVersion: tether.dev/v1alpha1\nkind: Agent\nmetadata: { name: a }\nspec:\n  owner: { id: x }\n  authorityClass: autonomous\n  identities: [{ kind: User, name: u }]\n',
    );
    const r = tether('lint', dir);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /a\.yaml#0 spec\.boundary\.budgets: autonomous agents must have at least one budget/);
  });
  test('explain speaks plainly', () => {
    const r = tether('explain', 'scaler-bot', '--policy', 'deploy/examples');
    assert.equal(r.status, 0);
    assert.match(r.stdout, /may change things inside its boundary without asking/);
    assert.match(r.stdout, /at most 30 changes and 5 distinct objects per 1h/);
  });
  test('explain an unknown agent', () => {
    const r = tether('explain', 'nobody', '--policy', 'deploy/examples');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no Agent named nobody/);
  });
});
