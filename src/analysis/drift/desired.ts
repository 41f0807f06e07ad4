// Desired state: what a Git working copy declares at a revision, rendered and identified.
import { existsSync, statSync } from 'node:fs';
import { chmod, cp, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DriftInputError } from './errors.ts';
import { exportRevision, findWorkingCopy, resolveRevision } from './git.ts';
import type { DesiredObject, InputProblem } from './model.ts';
import { describeId, idKey, idOf } from './object-id.ts';
import { type RenderResult, renderTree } from './render.ts';

export interface DesiredSource {
  /** A directory inside a Git working copy. */
  readonly repo: string;
  /** Branch, tag or commit; default HEAD. */
  readonly revision?: string;
  /** Directory or file below `repo` to render (a kustomization, a chart, or plain manifests). */
  readonly path?: string;
  /** Namespace of namespaced objects that name none (what `kubectl apply` would use). */
  readonly namespace?: string;
}

export interface DesiredState {
  readonly objects: DesiredObject[];
  readonly problems: InputProblem[];
  readonly revision?: { readonly ref: string; readonly commit: string };
  /** Repository top level; source files are relative to it. */
  readonly top: string;
  readonly notes: string[];
}

function identify(rendered: RenderResult, namespace: string): { objects: DesiredObject[]; problems: InputProblem[] } {
  const seen = new Map<string, DesiredObject>();
  const problems = [...rendered.problems];
  for (const r of rendered.objects) {
    const id = idOf(r.object, namespace);
    const key = idKey(id);
    const first = seen.get(key);
    if (first) {
      problems.push({
        where: r.source.file,
        message: `${describeId(id)} is also defined in ${first.source.file}; the first definition is compared`,
        severity: 'error',
      });
      continue;
    }
    seen.set(key, { id, object: r.object, source: r.source });
  }
  return { objects: [...seen.values()], problems };
}

/** A copy of a read-only checkout must be editable by the renderer. */
async function makeWritable(path: string): Promise<void> {
  const st = await stat(path);
  await chmod(path, st.mode | 0o200);
  if (st.isDirectory()) for (const e of await readdir(path)) await makeWritable(join(path, e));
}

export async function loadDesiredState(src: DesiredSource): Promise<DesiredState> {
  const repo = resolve(src.repo);
  if (!existsSync(repo) || !statSync(repo).isDirectory())
    throw new DriftInputError(`repository directory ${repo} does not exist`);
  const namespace = src.namespace ?? 'default';
  const opts = { namespace };
  const wc = await findWorkingCopy(repo);
  if (!wc) {
    if (src.revision)
      throw new DriftInputError(`${repo} is not a Git working copy, so revision '${src.revision}' cannot be read`);
    if (!existsSync(join(repo, src.path ?? '')))
      throw new DriftInputError(`path '${src.path}' does not exist in ${repo}`);
    // Rendering edits kustomizations (origin annotations, repairs): never in the user's files.
    const scratch = await mkdtemp(join(tmpdir(), 'tether-drift-copy-'));
    try {
      await cp(repo, scratch, { recursive: true });
      await makeWritable(scratch);
      const rendered = identify(await renderTree(scratch, join(scratch, src.path ?? ''), opts), namespace);
      return { ...rendered, top: repo, notes: [`${repo} is not a Git working copy: its files were read as they are`] };
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
  const ref = src.revision ?? 'HEAD';
  const commit = await resolveRevision(wc.top, ref);
  const exported = await exportRevision(wc.top, commit);
  try {
    const start = join(exported.dir, wc.prefix, src.path ?? '');
    if (!existsSync(start)) {
      const shown = [wc.prefix, src.path].filter(Boolean).join('/') || '.';
      throw new DriftInputError(
        `path '${shown}' does not exist at revision ${ref} (${commit.slice(0, 12)}) of ${wc.top}`,
      );
    }
    const rendered = identify(await renderTree(exported.dir, start, opts), namespace);
    return { ...rendered, revision: { ref, commit }, top: wc.top, notes: [] };
  } finally {
    await exported.dispose();
  }
}
