// Issue 12, items 7 and 12 over real HTTPS: true counts past 1,000 (metrics and list totals),
// slow-body and idle TLS connections closed, and a start-up that names no admin-token file
// that does not exist.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { RULES } from '../../src/engine/decision.ts';
import { https } from '../support/https.ts';
import { BACKENDS, tempDir } from '../store/backends.ts';
import { startTestServer, testPolicy, TOKENS, writePolicy } from './start.ts';

const PENDING = 1005;

for (const backend of BACKENDS) {
  describe(`counts on ${backend.name}`, { skip: backend.skip }, () => {
    let s: Awaited<ReturnType<typeof startTestServer>>;
    before(async () => {
      s = await startTestServer(await backend.fresh());
      const now = Date.now();
      const ask = (i: number) => ({
        agent: 'release',
        actionDigest: `sha256:${i.toString(16).padStart(64, '0')}`,
        summary: `request ${i}`,
        rules: [RULES.supervised],
        approvers: ['bob@example.com'],
        minApprovals: 1,
        ttlMs: 3_600_000,
      });
      const leaf = {
        v: 1,
        time: new Date(now).toISOString(),
        kind: 'decision',
        agent: 'release',
        decision: 'pending',
      } as const;
      await Promise.all(
        Array.from({ length: PENDING }, (_, i) => s.store.commit(leaf, [], now, { approvalAsk: ask(i) })),
      );
    });
    after(async () => {
      await s?.close();
      await backend.cleanup();
    });

    test('tether_pending_approvals and the approvals list report the true count past 1,000', async () => {
      const metrics = await https(`${s.url}/metrics`, { ca: s.caPem });
      assert.match(metrics.text, new RegExp(`^tether_pending_approvals ${PENDING}$`, 'm'));
      const first = await https<unknown[]>(`${s.url}/v1/approvals?status=pending&limit=1000`, {
        ca: s.caPem,
        token: TOKENS.root,
      });
      assert.equal(first.body.length, 1000);
      assert.equal(first.headers['x-total-count'], String(PENDING));
      const rest = await https<unknown[]>(
        `${s.url}/v1/approvals?status=pending&limit=1000&cursor=${first.headers['x-next-cursor']}`,
        {
          ca: s.caPem,
          token: TOKENS.root,
        },
      );
      assert.equal(rest.body.length, PENDING - 1000);
      const ids = new Set([...first.body, ...rest.body].map((a) => (a as { id: string }).id));
      assert.equal(ids.size, PENDING, 'every approval once across the two pages');
    });
  });
}

for (const surface of ['serve', 'gateway'] as const) {
  describe(`timeouts (tether ${surface})`, () => {
    let s: Awaited<ReturnType<typeof startTestServer>>;
    before(async () => {
      s = await startTestServer(`sqlite:${join(tempDir(), 't.db')}`, {
        requestTimeoutSeconds: 1,
        idleTimeoutSeconds: 1,
        surface,
      });
    });
    after(async () => s?.close());

    /** Opens a connection (TLS when the server speaks it), lets `act` write (or not), and resolves with how long until the server closed it. */
    function closedAfter(act: (socket: Socket) => void, waitMs = 8000): Promise<number> {
      const url = new URL(s.url);
      const started = Date.now();
      return new Promise((resolve) => {
        const port = Number(url.port);
        const socket: Socket =
          url.protocol === 'https:'
            ? connectTls({ host: url.hostname, port, ca: s.caPem, servername: 'localhost' }, () => act(socket))
            : connectTcp({ host: url.hostname, port }, () => act(socket));
        const give = setTimeout(() => {
          socket.destroy();
          resolve(Number.POSITIVE_INFINITY);
        }, waitMs);
        socket.on('data', () => undefined);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          clearTimeout(give);
          resolve(Date.now() - started);
        });
      });
    }

    test('attacker: a slow body is cut off', async () => {
      const ms = await closedAfter((socket) => {
        socket.write(
          'POST /v1/decide HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"verb":',
        );
        // …and then a byte now and then, never the rest.
        const drip = setInterval(() => socket.writable && socket.write(' '), 300);
        socket.on('close', () => clearInterval(drip));
      });
      assert.ok(ms < 8000, 'the server closed the slow request');
    });

    test('attacker: an idle connection is closed', async () => {
      const ms = await closedAfter(() => undefined);
      assert.ok(ms < 8000, 'the server closed the idle connection');
    });
  });
}

test('with tokens configured, start-up names no admin-token file (and makes none)', async () => {
  const dataDir = tempDir('tether-startup-');
  writePolicy(join(dataDir, 'policy'), testPolicy());
  const config = join(dataDir, 'tether.yaml');
  writeFileSync(
    config,
    stringify({
      listen: { host: '127.0.0.1', port: 0 },
      dataDir,
      policy: { source: 'directory', dir: join(dataDir, 'policy') },
      tokens: [{ token: 'alice-token-0123456789abcdef', human: 'alice@example.com' }],
      logLevel: 'warn',
    }),
  );
  const root = new URL('../../', import.meta.url).pathname;
  const child = spawn(process.execPath, [join(root, 'bin/tether.js'), 'serve', '--config', config], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const give = setTimeout(() => reject(new Error(`no start-up within 30 s: ${stderr}`)), 30_000);
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        if (/CA certificate.*\n.*\n/.test(stderr)) {
          clearTimeout(give);
          resolve();
        }
      });
      child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
  } finally {
    child.kill('SIGTERM');
  }
  assert.match(stderr, /serving on https:/);
  assert.doesNotMatch(stderr, /admin-token/);
  assert.equal(existsSync(join(dataDir, 'admin-token')), false);
});
