// bench/admission prints, per target, how many cores sat idle during its rounds (idleSecondsOf in
// bench/admission/servers.ts): idle and I/O wait from /proc/stat's `cpu` line, in seconds.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { idleSecondsOf } from '../../bench/admission/servers.ts';

const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

test('idle and I/O wait of the all-CPU line, not of one CPU or the user time', () => {
  const stat = [
    'cpu  4705 150 1120 16250 520 0 30 0 0 0',
    'cpu0 2000 75 560 8000 260 0 15 0 0 0',
    'intr 114930548 113199788 3 0 5 263 0 4 [...]',
  ].join('\n');
  assert.equal(idleSecondsOf(stat), (16250 + 520) / TICKS);
});

test('a /proc/stat without a readable cpu line is refused, not read as zero', () => {
  assert.throws(() => idleSecondsOf('cpu0 1 2 3 4 5\nintr 1'), /no cpu line/);
  assert.throws(() => idleSecondsOf('cpu  1 2 3'), /unreadable cpu line/);
});

test("this machine's idle seconds only grow", async () => {
  const before = idleSecondsOf(readFileSync('/proc/stat', 'utf8'));
  await new Promise((r) => setTimeout(r, 50));
  const after = idleSecondsOf(readFileSync('/proc/stat', 'utf8'));
  assert.ok(before > 0 && after >= before, `${before} → ${after}`);
});
