// Notification webhook URLs are credentials (a Slack incoming-webhook URL is its own password): they
// come from a mounted Secret file (urlFile) and a failing one is reported by its origin alone.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { ConfigError, loadConfig } from '../../src/server/config.ts';
import { Notifier } from '../../src/server/notify.ts';
import { tempDir } from '../store/backends.ts';

const SECRET_PATH = '/services/T000/B000/xoxb-very-secret-token';

test('a failing webhook is logged by origin, never with the secret path', async () => {
  const server = createServer((_req, res) => res.writeHead(500).end()).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as { port: number };
  const seen: string[] = [];
  const n = new Notifier([{ url: `http://127.0.0.1:${port}${SECRET_PATH}` }], (e, url) =>
    seen.push(`${url} ${e.message}`),
  );
  n.send({ event: 'breaker.trip', text: 'x', detail: {} });
  await n.flush();
  server.close();
  assert.equal(seen.length, 1);
  assert.equal(seen[0], `http://127.0.0.1:${port} HTTP 500`);
  assert.doesNotMatch(seen.join('\n'), /xoxb|services/);
});

test('urlFile reads the URL from a mounted Secret; one of url and urlFile; a missing file names the field, not the value', () => {
  const dir = tempDir('tether-notify-');
  writeFileSync(join(dir, 'url'), `https://hooks.example${SECRET_PATH}\n`);
  const file = join(dir, 'tether.yaml');
  writeFileSync(file, stringify({ dataDir: dir, notifications: [{ urlFile: join(dir, 'url'), format: 'slack' }] }));
  assert.equal(loadConfig(file).notifications[0]?.url, `https://hooks.example${SECRET_PATH}`);
  writeFileSync(
    file,
    stringify({ dataDir: dir, notifications: [{ url: 'https://a.example/x', urlFile: join(dir, 'url') }] }),
  );
  assert.throws(
    () => loadConfig(file),
    (e: Error) => e instanceof ConfigError && /exactly one of url, urlFile/.test(e.message),
  );
  writeFileSync(file, stringify({ dataDir: dir, notifications: [{ urlFile: join(dir, 'absent') }] }));
  assert.throws(
    () => loadConfig(file),
    (e: Error) => e instanceof ConfigError && /notifications\[0\]\.urlFile: cannot read .*ENOENT/.test(e.message),
  );
  writeFileSync(join(dir, 'store'), 'postgres://tether:hunter2@db:5432/tether\n');
  writeFileSync(file, stringify({ dataDir: dir, storeFile: join(dir, 'store') }));
  assert.equal(loadConfig(file).storeUrl, 'postgres://tether:hunter2@db:5432/tether');
});
