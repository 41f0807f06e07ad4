// Reads a revision of a Git working copy without touching it: the tree is checked out through a
// private index into a temporary directory, so the user's index, branch and files stay as they are.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { DriftInputError } from './errors.ts';
import { exec } from './exec.ts';

export interface WorkingCopy {
  /** Top-level directory of the repository. */
  readonly top: string;
  /** Where the user pointed us, relative to `top` ('' for the top). */
  readonly prefix: string;
}

export async function git(top: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await exec('git', ['-C', top, ...args], env ? { env } : {});
  if (r.code !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`);
  return r.stdout;
}

/** The working copy containing `dir`, or undefined when `dir` is not inside a Git repository. */
export async function findWorkingCopy(dir: string): Promise<WorkingCopy | undefined> {
  const abs = resolve(dir);
  const r = await exec('git', ['-C', abs, 'rev-parse', '--show-toplevel']);
  if (r.code !== 0) return undefined;
  const top = r.stdout.trim();
  return { top, prefix: relative(top, abs) };
}

/** The commit a revision names; a precise error when there is none. */
export async function resolveRevision(top: string, revision: string): Promise<string> {
  if (revision.startsWith('-')) throw new DriftInputError(`revision '${revision}' is not a revision name`);
  const r = await exec('git', [
    '-C',
    top,
    'rev-parse',
    '--verify',
    '--quiet',
    '--end-of-options',
    `${revision}^{commit}`,
  ]);
  if (r.code !== 0 || !r.stdout.trim()) {
    const branches = await exec('git', [
      '-C',
      top,
      'for-each-ref',
      '--count=8',
      '--format=%(refname:short)',
      'refs/heads',
      'refs/tags',
    ]);
    const known = branches.stdout.trim().split('\n').filter(Boolean);
    throw new DriftInputError(
      `revision '${revision}' does not exist in ${top}${known.length ? ` (branches and tags: ${known.join(', ')})` : ''}; fetch it first if it lives on a remote`,
    );
  }
  return r.stdout.trim();
}

/** Checks out `commit` into a new temporary directory; call `dispose` when done. */
export async function exportRevision(
  top: string,
  commit: string,
): Promise<{ dir: string; dispose: () => Promise<void> }> {
  const scratch = await mkdtemp(join(tmpdir(), 'tether-drift-'));
  const dir = join(scratch, 'tree');
  const env = { GIT_INDEX_FILE: join(scratch, 'index') };
  const dispose = () => rm(scratch, { recursive: true, force: true });
  try {
    await git(top, ['read-tree', commit], env);
    await git(top, ['checkout-index', '--all', '--force', `--prefix=${dir}/`], env);
    return { dir, dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}
