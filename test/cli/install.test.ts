// The installable CLI: `npm pack` makes a lean tarball, `npm install -g --prefix <scratch>` of it gives a
// `tether` that prints its version, completes in bash, and serves (the same thing the container image
// runs). Node on PATH is the one running this test; set TETHER_TEST_NODE22 to a Node 22 binary to also
// run the installed CLI on the oldest Node the package supports.
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { tempDir } from '../store/backends.ts';
import { https } from '../support/https.ts';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
// npm from PATH, run by the Node that runs this test (first on PATH below).
const npm = 'npm';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });

describe('the npm package', () => {
  const scratch = tempDir('tether-install-');
  const prefix = join(scratch, 'prefix');
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` };
  let files: string[] = [];
  let tether = '';

  before(async () => {
    const packed = await run(npm, ['pack', '--json', '--pack-destination', scratch], {
      cwd: ROOT,
      env,
      maxBuffer: 32 * 1024 * 1024,
    });
    const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as {
      filename: string;
      files: { path: string }[];
    }[];
    files = (info[0] as { files: { path: string }[] }).files.map((f) => f.path);
    const tarball = join(scratch, (info[0] as { filename: string }).filename);
    // Offline first: the packages the clone installed are in npm's cache; anything else comes from the registry.
    await run(npm, ['install', '-g', '--prefix', prefix, tarball, '--prefer-offline', '--no-audit', '--no-fund'], {
      env,
      maxBuffer: 32 * 1024 * 1024,
    });
    tether = join(prefix, 'bin', 'tether');
  });

  test('the tarball holds the compiled CLI and what it reads at run time, and nothing of the development tree', () => {
    for (const needed of [
      'bin/tether.js',
      'dist/cli/main.js',
      'dist/server/server.js',
      'dist/ledger/scan-worker.js',
      'dist/store/sqlite/writer-thread.js',
      'deploy/examples/governance.yaml',
      'console/index.html',
      'package.json',
    ])
      assert.ok(files.includes(needed), `${needed} is packed`);
    const leaked = files.filter((f) => /^(src|test|bench|scripts|node_modules|\.cache)\//.test(f) || f.endsWith('.ts'));
    assert.deepEqual(leaked, [], 'no sources, tests, scripts or caches');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const dev of ['typescript', '@biomejs/biome', 'fast-check', 'autocannon', 'playwright-core'])
      assert.equal(pkg.dependencies[dev], undefined, `${dev} is a dev dependency`);
  });

  test('tether --version prints the package version', async () => {
    const r = await run(tether, ['--version'], { env });
    assert.equal(r.stdout.trim(), VERSION);
  });

  test('bash completion from the installed CLI completes subcommands and options', async () => {
    const script = join(scratch, 'tether.bash');
    writeFileSync(script, (await run(tether, ['completion', 'bash'], { env })).stdout);
    const complete = (words: string[]) => {
      const line = `source '${script}'; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _tether_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const r = spawnSync('bash', ['-c', line], { env, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim().split('\n').filter(Boolean).sort();
    };
    assert.deepEqual(complete(['tether', 'appr']), ['approvals']);
    assert.deepEqual(complete(['tether', 'approvals', 'a']), ['approve']);
    assert.deepEqual(complete(['tether', 'access', 'can', 'alice', 'get', 'pods', '--na']), ['--name', '--namespace']);
    assert.deepEqual(complete(['tether', 'ledger', 'v']), ['verify'], 'lazily loaded command trees complete too');
    const zsh = (await run(tether, ['completion', 'zsh'], { env })).stdout;
    assert.match(zsh, /bashcompinit/);
    assert.match(zsh, /complete -o default -F _tether_complete tether/);
  });

  for (const [label, node] of [
    ['this Node', undefined],
    ['Node 22', process.env.TETHER_TEST_NODE22],
  ] as const) {
    test(`the installed tether serves (${label})`, {
      skip: label === 'Node 22' && !node ? 'TETHER_TEST_NODE22 is not set' : undefined,
    }, async () => {
      const dataDir = join(scratch, `data-${label.replace(/\W/g, '')}`);
      const port = await freePort();
      const cmd = node ? node : tether;
      const args = node ? [join(prefix, 'lib/node_modules/tether/bin/tether.js')] : [];
      const proc = spawn(cmd, [...args, 'serve', '--data-dir', dataDir, '--port', String(port)], {
        cwd: scratch,
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let log = '';
      proc.stderr.on('data', (c) => (log += c));
      const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
      try {
        const deadline = Date.now() + 60_000;
        while (!/serving on/.test(log)) {
          assert.equal(proc.exitCode, null, log);
          assert.ok(Date.now() < deadline, `not serving in time: ${log}`);
          await new Promise((r) => setTimeout(r, 200));
        }
        const ca = readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8');
        const ready = await https<{ ready: boolean }>(`https://127.0.0.1:${port}/readyz`, { ca });
        assert.equal(ready.status, 200, 'the example policy shipped in the package is loaded');
        const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
        const agents = await https<{ name: string }[]>(`https://127.0.0.1:${port}/v1/agents`, { ca, token });
        assert.ok(agents.body.length > 0, JSON.stringify(agents.body));
      } finally {
        proc.kill('SIGTERM');
      }
      assert.equal(await exited, 0, log);
    });
  }
});
