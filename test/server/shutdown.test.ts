// Graceful shutdown of a real `tether serve` process: on SIGTERM readiness drops first (the Service
// stops sending), requests in flight are answered, the ledger is flushed and checkpointed, and the
// process exits within 5 s even with the API server's keep-alive connections open.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { stringify } from 'yaml';
import { openStore } from '../../src/store/open.ts';
import { tempDir } from '../store/backends.ts';
import { https } from '../support/https.ts';
import { SA, testPolicy, writePolicy } from './start.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const AGENT_TOKEN = 'shutdown-agent-token-000000000000';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });

async function startServe(
  drainSeconds: number,
): Promise<{ proc: ChildProcess; url: string; ca: () => string; dataDir: string; exited: Promise<number | null> }> {
  const dir = tempDir('tether-shutdown-');
  const dataDir = join(dir, 'data');
  writePolicy(join(dir, 'policy'), testPolicy());
  const port = await freePort();
  writeFileSync(
    join(dir, 'tether.yaml'),
    stringify({
      listen: { host: '127.0.0.1', port },
      dataDir,
      policy: { source: 'directory', dir: join(dir, 'policy') },
      tokens: [{ token: AGENT_TOKEN, agentUsername: SA('scaler') }],
      logLevel: 'warn',
      shutdown: { drainSeconds },
    }),
  );
  const proc = spawn(process.execPath, [join(ROOT, 'bin/tether.js'), 'serve', '--config', join(dir, 'tether.yaml')], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  after(() => void (proc.exitCode === null && proc.kill('SIGKILL')));
  let log = '';
  proc.stderr?.on('data', (c) => (log += c));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const url = `https://127.0.0.1:${port}`;
  const ca = () => readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8');
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`tether serve exited: ${log}`);
    const ok = await Promise.resolve()
      .then(() => https(`${url}/readyz`, { ca: ca() }))
      .then(
        (r) => r.status === 200,
        () => false,
      );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`not ready: ${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { proc, url, ca, dataDir, exited };
}

const decisionBody = JSON.stringify({
  subject: { username: SA('scaler') },
  verb: 'update',
  target: { group: 'apps', resource: 'deployments', namespace: 'shop', name: 'web' },
  object: {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { replicas: 2 },
  },
});

test('SIGTERM: not ready at once, the request in flight is answered and ledgered, exit within 5 s despite keep-alive connections', async () => {
  const s = await startServe(1);
  const ca = s.ca();
  // The API server keeps its webhook connections open between calls.
  const keepAlive = new Agent({ keepAlive: true, ca });
  await new Promise<void>((resolve, reject) =>
    request(`${s.url}/healthz`, { agent: keepAlive }, (res) => res.resume().on('end', resolve))
      .on('error', reject)
      .end(),
  );

  // A decision in flight: headers and half the body sent before SIGTERM, the rest after.
  const body = Buffer.from(decisionBody);
  const answer = new Promise<{ status: number; json: { outcome: string; ledgerIndex?: number } }>((resolve, reject) => {
    const req = request(
      `${s.url}/v1/decide`,
      {
        method: 'POST',
        ca,
        headers: {
          'content-type': 'application/json',
          'content-length': String(body.length),
          authorization: `Bearer ${AGENT_TOKEN}`,
          'x-tether-intent': 'scale for the sale',
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.write(body.subarray(0, 20));
    (globalThis as { finishInFlight?: () => void }).finishInFlight = () => req.end(body.subarray(20));
  });
  await new Promise((r) => setTimeout(r, 200));

  const sigterm = Date.now();
  s.proc.kill('SIGTERM');
  // Readiness drops first, while the server still serves.
  let notReady = 0;
  for (let i = 0; i < 20 && !notReady; i++) {
    const r = await https(`${s.url}/readyz`, { ca });
    if (r.status === 503) notReady = Date.now() - sigterm;
    else await new Promise((res) => setTimeout(res, 25));
  }
  assert.ok(notReady > 0 && notReady < 900, `readiness answered 503 within the drain window (after ${notReady} ms)`);
  assert.equal((await https(`${s.url}/healthz`, { ca })).status, 200, 'still serving during the drain');

  (globalThis as { finishInFlight?: () => void }).finishInFlight?.();
  const r = await answer;
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.outcome, 'allow');
  const code = await s.exited;
  const took = Date.now() - sigterm;
  keepAlive.destroy();
  assert.equal(code, 0);
  assert.ok(took < 5000, `exited ${took} ms after SIGTERM`);

  // Flushed: the decision is in the ledger and a signed checkpoint covers it.
  const store = await openStore(`sqlite:${join(s.dataDir, 'tether.db')}`);
  try {
    const [entry] = await store.entries(r.json.ledgerIndex as number, (r.json.ledgerIndex as number) + 1);
    assert.equal(entry?.leaf.agent, 'scaler');
    const checkpoint = (await store.checkpoints()).at(-1);
    assert.ok(
      checkpoint && checkpoint.size > (r.json.ledgerIndex as number),
      'the shutdown checkpoint covers the last decision',
    );
  } finally {
    await store.close();
  }
});

test('SIGTERM with no drain delay and idle clients: gone well within 5 s', async () => {
  const s = await startServe(0);
  const keepAlive = new Agent({ keepAlive: true, ca: s.ca() });
  for (let i = 0; i < 3; i++)
    await new Promise<void>((resolve, reject) =>
      request(`${s.url}/healthz`, { agent: keepAlive }, (res) => res.resume().on('end', resolve))
        .on('error', reject)
        .end(),
    );
  const sigterm = Date.now();
  s.proc.kill('SIGTERM');
  assert.equal(await s.exited, 0);
  keepAlive.destroy();
  assert.ok(Date.now() - sigterm < 5000, `exited ${Date.now() - sigterm} ms after SIGTERM`);
});
