// How long `tether` takes to answer the commands people type most: --help, --version, and an offline
// `access can` against a small cluster dump. Wall time per run (p50, p99) and the CPU the child used
// (user+sys from /proc via `bash -c times`), next to the floor in the same run: `node -e 0`.
// Give another tree with --baseline <dir> (e.g. an unpacked older commit with node_modules linked) to
// compare before and after in one run.
//   node bench/cli/startup.ts [--runs 20] [--baseline <dir>]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { percentile, round } from '../support/stats.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' }, baseline: { type: 'string' } } });
const runs = Number(values.runs);
const here = new URL('../../', import.meta.url).pathname;

const dump = join(mkdtempSync(join(tmpdir(), 'tether-startup-')), 'cluster.yaml');
writeFileSync(
  dump,
  `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: pod-reader, namespace: shop }
rules: [{ apiGroups: [""], resources: [pods], verbs: [get, list] }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: bot-reads, namespace: shop }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader }
subjects: [{ kind: ServiceAccount, name: bot, namespace: shop }]
`,
);

const COMMANDS: Record<string, string[]> = {
  '--help': ['--help'],
  '--version': ['--version'],
  'access can': ['access', 'can', 'system:serviceaccount:shop:bot', 'get', 'pods', '-n', 'shop', '-f', dump],
};

/** Wall ms and child CPU ms of one run (bash's `times` reports the children's user and sys time). */
function once(args: string[]): { wall: number; cpu: number } {
  const quoted = args.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const started = performance.now();
  const r = spawnSync('bash', ['-c', `${quoted} >/dev/null 2>&1; times`], { encoding: 'utf8' });
  const wall = performance.now() - started;
  const lines = r.stdout.trim().split('\n');
  const child = (lines.at(-1) ?? '').match(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/);
  const cpu = child
    ? (Number(child[1]) * 60 + Number(child[2]) + Number(child[3]) * 60 + Number(child[4])) * 1000
    : Number.NaN;
  return { wall, cpu };
}

function measure(label: string, args: string[]): void {
  once(args); // warm the file cache
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = once(args);
    wall.push(r.wall);
    cpu.push(r.cpu);
  }
  wall.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  console.log(
    `${label.padEnd(34)} wall p50 ${String(round(percentile(wall, 50), 0)).padStart(5)} ms  p99 ${String(round(percentile(wall, 99), 0)).padStart(5)} ms   cpu p50 ${String(round(percentile(cpu, 50), 0)).padStart(5)} ms  p99 ${String(round(percentile(cpu, 99), 0)).padStart(5)} ms`,
  );
}

console.log(
  `tether CLI start-up, ${runs} runs each, node ${process.version} (the machine may be shared: compare rows of one run only)`,
);
measure('node -e 0 (floor)', [process.execPath, '-e', '0']);
for (const [tree, label] of [[here, 'this tree'], ...(values.baseline ? [[values.baseline, 'baseline']] : [])] as [
  string,
  string,
][]) {
  for (const [name, args] of Object.entries(COMMANDS))
    measure(`${label}: tether ${name}`, [process.execPath, join(tree, 'bin/tether.js'), ...args]);
}
rmSync(dirname(dump), { recursive: true, force: true });
