// An approver's view of a boundary expansion: the CLI asks the running server for the request and
// the enforced spec, and the access analyzer for what approving it would add.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ResolvedConfig } from '../../src/server/config.ts';
import { type RunningServer, startServer } from '../../src/server/server.ts';
import { https } from '../support/https.ts';
import { tempDir } from '../store/backends.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const SHOP = join(ROOT, 'test/analysis/access/fixtures/shop');
const TOKEN = 'approver-token-0123456789abcdef';
let server: RunningServer;
let policyDir: string;
let dataDir: string;

before(async () => {
  dataDir = tempDir('tether-review-');
  policyDir = join(dataDir, 'policy');
  mkdirSync(policyDir);
  copyFileSync(join(SHOP, 'agents.yaml'), join(policyDir, 'agents.yaml'));
  const config: ResolvedConfig = {
    host: '127.0.0.1',
    port: 0,
    dataDir,
    storeUrl: `sqlite:${join(dataDir, 'tether.db')}`,
    policy: { source: 'directory', dir: policyDir },
    tls: { kind: 'self-managed', hosts: ['127.0.0.1'] },
    tokens: [{ token: TOKEN, human: 'alice@example.com' }],
    notifications: [],
    bodyLimitBytes: 1 << 20,
    logLevel: 'warn',
  };
  server = await startServer(config);
});
after(async () => server?.close());

test('tether expansion-review says what approving a widening would hand over', async () => {
  const widened = readFileSync(join(policyDir, 'agents.yaml'), 'utf8').replace(
    '- { apiGroups: [""], resources: [pods, pods/log], verbs: [get, list, watch] }',
    '- { apiGroups: [""], resources: [pods, pods/log], verbs: [get, list, watch] }\n      - { apiGroups: [""], resources: [pods], verbs: [create] }',
  );
  writeFileSync(join(policyDir, 'agents.yaml'), widened);
  let id: string | undefined;
  for (let i = 0; i < 100 && !id; i++) {
    const r = await https<{ id: string; agent: string }[]>(`${server.url}/v1/expansions?status=pending`, {
      ca: server.caPem,
      token: TOKEN,
    });
    id = r.body.find((e) => e.agent === 'triage')?.id;
    if (!id) await new Promise((res) => setTimeout(res, 50));
  }
  assert.ok(id, 'the widening became an expansion request');
  const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(
      process.execPath,
      [
        join(ROOT, 'bin/tether.js'),
        'expansion-review',
        id as string,
        '-f',
        join(SHOP, 'cluster.yaml'),
        '-f',
        join(ROOT, '../shared/fixtures/kubernetes-rbac/cluster-roles.yaml'),
        '-p',
        policyDir,
        '-g',
        join(SHOP, 'gateway.yaml'),
        '--server',
        server.url,
        '--token',
        TOKEN,
        '--ca',
        join(dataDir, 'tls', 'ca.crt'),
      ],
      { cwd: ROOT },
      (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
    ),
  );
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /triage asks for new rule create on pods/);
  assert.match(out.stdout, /approving this adds: create pods in shop → any service account in shop/);
});
