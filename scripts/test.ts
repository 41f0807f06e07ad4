// The README's test command (`npm test`): type-check, then every test under test/ with the
// real parts they need: a throwaway PostgreSQL (unless TETHER_TEST_PG_URL is given) and the
// kube-apiserver harness (built with Go; without Go the e2e suite is skipped, loudly).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, globSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../', import.meta.url).pathname;
const env: NodeJS.ProcessEnv = { ...process.env };
const cleanups: (() => void)[] = [];
const banner = (msg: string) => console.log(`\n${'='.repeat(78)}\n${msg}\n${'='.repeat(78)}`);

function step(name: string, cmd: string, args: string[]): void {
  console.log(`» ${name}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`✖ ${name} failed`);
    process.exit(r.status ?? 1);
  }
}

step('type-check (tsc --noEmit)', process.execPath, [
  join(root, 'node_modules/typescript/bin/tsc'),
  '--noEmit',
  '-p',
  root,
]);

if (!env.TETHER_TEST_PG_URL) {
  if (existsSync('/usr/lib/postgresql/15/bin/initdb') || env.PG_BIN) {
    const out = spawnSync('bash', [join(root, 'scripts/pg.sh')], { encoding: 'utf8' });
    if (out.status !== 0) {
      console.error(out.stderr);
      process.exit(1);
    }
    env.TETHER_TEST_PG_URL = out.stdout.trim();
    const dir = /cluster in (\S+)/.exec(out.stderr)?.[1];
    if (dir) cleanups.push(() => spawnSync('bash', [join(root, 'scripts/pg.sh'), 'stop', dir]));
    console.log(`» PostgreSQL for tests: ${env.TETHER_TEST_PG_URL}`);
  } else {
    banner(
      'PostgreSQL is not installed: the PostgreSQL half of the store tests is SKIPPED.\nInstall postgresql-15 or set TETHER_TEST_PG_URL.',
    );
  }
}

let goFound = false;
try {
  execFileSync('go', ['version'], { stdio: 'ignore' });
  goFound = true;
} catch {}
if (goFound) step('build the kube-apiserver harness', 'bash', [join(root, 'scripts/build-harness.sh')]);
if (goFound) step('build helm (chart tests)', 'bash', [join(root, 'scripts/build-helm.sh')]);
else
  banner(
    'Go is not installed: the END-TO-END suite against a real kube-apiserver is SKIPPED.\nInstall Go 1.26 and run npm test again (see README).',
  );
if (env.CI && !goFound) {
  console.error('✖ CI must run the e2e suite: Go is required');
  process.exit(1);
}

// Every test makes its files under the temp folder and leaves them to it: one folder per run,
// removed at the end, so a machine that runs the suite often does not fill its /tmp (a run left
// ~22,000 folders there, and the admission bench's stores). TETHER_KEEP_TEMP=1 keeps it to look at.
const scratch = mkdtempSync(join(tmpdir(), 'tether-test-run-'));
env.TMPDIR = scratch;
if (env.TETHER_KEEP_TEMP) console.log(`» temp files of this run kept in ${scratch}`);
else cleanups.push(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 3 }));

const files = (process.argv.length > 2 ? process.argv.slice(2) : globSync('test/**/*.test.ts', { cwd: root })).sort();
const child = spawn(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=600000', ...files], {
  cwd: root,
  stdio: 'inherit',
  env,
});
const stop = () => {
  for (const c of cleanups) c();
};
process.on('SIGINT', () => child.kill('SIGINT'));
child.on('exit', (code, signal) => {
  stop();
  process.exit(code ?? (signal ? 1 : 0));
});
