// Renders the desired state of a directory tree the way GitOps tools do: a directory with a
// kustomization is built with kustomize, one with Chart.yaml with `helm template`, anything else
// is read as plain manifests. Rendering happens in a scratch copy, which lets a failing
// kustomize build be repaired (the broken document or entry left out, and reported) so the
// rest of the repository is still compared.
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { isSeq, parse as parseYaml, parseDocument, stringify } from 'yaml';
import { exec, which } from './exec.ts';
import { parseKustomizeError } from './kustomize-errors.ts';
import { parseManifests } from './manifests.ts';
import type { InputProblem, KubeObject, SourceRef } from './model.ts';
import { KUSTOMIZE_ORIGIN } from './normalize.ts';

export interface RenderedObject {
  readonly object: KubeObject;
  readonly source: SourceRef;
}

export interface RenderResult {
  readonly objects: RenderedObject[];
  readonly problems: InputProblem[];
}

export interface RenderOptions {
  /** Namespace handed to `helm template`. */
  readonly namespace: string;
  /** Attempts at repairing one kustomize build before giving up on it. */
  readonly maxRepairs?: number;
}

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

function kustomizationFile(dir: string): string | undefined {
  for (const f of KUSTOMIZATION_FILES) if (existsSync(join(dir, f))) return join(dir, f);
  return undefined;
}

/** Repository-relative, forward slashes. */
function rel(root: string, abs: string): string {
  return relative(root, abs).split(sep).join('/') || '.';
}

async function renderPlainFile(root: string, file: string): Promise<RenderResult> {
  const name = rel(root, file);
  const parsed = parseManifests(await readFile(file, 'utf8'), name);
  return {
    objects: parsed.objects.map((p) => ({ object: p.object, source: { file: name, doc: p.doc, renderer: 'plain' } })),
    problems: parsed.problems,
  };
}

// ---- kustomize -----------------------------------------------------------------------------

async function editYaml(file: string, edit: (doc: ReturnType<typeof parseDocument>) => boolean): Promise<boolean> {
  const doc = parseDocument(await readFile(file, 'utf8'));
  if (doc.errors.length > 0 || !edit(doc)) return false;
  await writeFile(file, doc.toString());
  return true;
}

/** Ask kustomize to say which file every object came from (config.kubernetes.io/origin). */
async function requestOrigins(kustomization: string): Promise<void> {
  await editYaml(kustomization, (doc) => {
    const current = doc.get('buildMetadata');
    if (isSeq(current)) {
      if (!current.items.some((i) => String((i as { value?: unknown }).value ?? i) === 'originAnnotations'))
        current.add('originAnnotations');
    } else doc.set('buildMetadata', ['originAnnotations']);
    return true;
  });
}

/** Removes `entry` from the resources/components/bases lists of the kustomization in `dir`. */
async function dropEntry(dir: string, entry: string): Promise<boolean> {
  const file = kustomizationFile(dir);
  if (!file) return false;
  return editYaml(file, (doc) => {
    for (const field of ['resources', 'components', 'bases']) {
      const list = doc.get(field);
      if (!isSeq(list)) continue;
      const i = list.items.findIndex((item) => String((item as { value?: unknown }).value ?? item) === entry);
      if (i >= 0) {
        list.items.splice(i, 1);
        return true;
      }
    }
    return false;
  });
}

function originOf(obj: KubeObject, unitDir: string, root: string): string | undefined {
  const raw = obj.metadata.annotations?.[KUSTOMIZE_ORIGIN];
  if (!raw) return undefined;
  try {
    const origin = parseYaml(raw) as { path?: string; repo?: string } | null;
    if (!origin?.path || origin.repo) return undefined;
    return rel(root, resolve(unitDir, origin.path));
  } catch {
    return undefined;
  }
}

async function renderKustomize(root: string, unitDir: string, opts: RenderOptions): Promise<RenderResult> {
  const unit = rel(root, unitDir);
  const problems: InputProblem[] = [];
  const kustomization = kustomizationFile(unitDir) as string;
  const kubectl = which('kubectl');
  const kustomize = kubectl ? undefined : which('kustomize');
  if (!kubectl && !kustomize) {
    return {
      objects: [],
      problems: [
        {
          where: unit,
          message:
            'neither kubectl nor kustomize is on PATH: this kustomization was not rendered and its objects are not compared',
          severity: 'error',
        },
      ],
    };
  }
  await requestOrigins(kustomization);
  const repaired = new Set<string>();
  for (let attempt = 0; attempt <= (opts.maxRepairs ?? 25); attempt++) {
    const r = kubectl
      ? await exec(kubectl, ['kustomize', unitDir])
      : await exec(kustomize as string, ['build', unitDir]);
    if (r.code === 0) {
      const parsed = parseManifests(r.stdout, `${unit} (kustomize output)`);
      problems.push(...parsed.problems);
      const objects = parsed.objects.map(({ object }) => ({
        object,
        source: {
          file: originOf(object, unitDir, root) ?? rel(root, kustomization),
          unit,
          renderer: 'kustomize' as const,
        },
      }));
      return { objects, problems };
    }
    const parsed = parseKustomizeError(r.stderr);
    // Messages name files in the scratch copy; show them as the repository does.
    const failure = { ...parsed, detail: parsed.detail.replaceAll(`${root}${sep}`, '') };
    const listing = failure.dir ?? unitDir;
    if (!failure.entry || repaired.has(`${listing}\n${failure.entry}`)) {
      problems.push({
        where: rel(root, kustomizationFile(listing) ?? listing),
        message: `kustomize build failed: ${failure.detail}; none of this kustomization's objects are compared`,
        severity: 'error',
      });
      return { objects: [], problems };
    }
    repaired.add(`${listing}\n${failure.entry}`);
    const target = resolve(listing, failure.entry);
    const where = rel(root, target);
    if (existsSync(target) && statSync(target).isFile()) {
      // Keep the file's good documents, leave out the broken ones, and name each of those.
      const text = await readFile(target, 'utf8');
      const parsed = parseManifests(text, where);
      if (parsed.problems.length > 0) {
        problems.push(
          ...parsed.problems.map((p) => ({ ...p, message: `${p.message}; left out, the rest is still compared` })),
        );
        await writeFile(target, parsed.objects.map((o) => stringify(o.object)).join('---\n'));
        continue;
      }
    }
    const listed = rel(root, kustomizationFile(listing) ?? listing);
    problems.push({
      where: existsSync(target) ? where : listed,
      message: existsSync(target)
        ? `kustomize cannot use it: ${failure.detail}; left out, the rest is still compared`
        : `${listed} lists '${failure.entry}', which does not exist; left out, the rest is still compared`,
      severity: 'error',
    });
    if (!(await dropEntry(listing, failure.entry))) {
      problems.push({
        where: listed,
        message: `kustomize build failed: ${failure.detail}; none of this kustomization's objects are compared`,
        severity: 'error',
      });
      return { objects: [], problems };
    }
  }
  problems.push({
    where: unit,
    message: 'kustomize build still fails after repeated repairs; none of its objects are compared',
    severity: 'error',
  });
  return { objects: [], problems };
}

// ---- helm ----------------------------------------------------------------------------------

async function renderHelm(root: string, chartDir: string, opts: RenderOptions): Promise<RenderResult> {
  const unit = rel(root, chartDir);
  const helm = which('helm');
  if (!helm) {
    return {
      objects: [],
      problems: [
        {
          where: unit,
          message:
            'helm is not installed (no helm binary on PATH): this chart was not rendered and its objects are not compared',
          severity: 'error',
        },
      ],
    };
  }
  const r = await exec(helm, ['template', basename(chartDir), chartDir, '--namespace', opts.namespace]);
  if (r.code !== 0)
    return {
      objects: [],
      problems: [{ where: unit, message: `helm template failed: ${r.stderr.trim()}`, severity: 'error' }],
    };
  const parsed = parseManifests(r.stdout, `${unit} (helm output)`);
  return {
    objects: parsed.objects.map(({ object }) => ({
      object,
      source: { file: `${unit}/Chart.yaml`, unit, renderer: 'helm' as const },
    })),
    problems: parsed.problems,
  };
}

// ---- directory walk ------------------------------------------------------------------------

async function renderDir(root: string, dir: string, opts: RenderOptions, out: RenderResult): Promise<void> {
  if (kustomizationFile(dir)) return merge(out, await renderKustomize(root, dir, opts));
  if (existsSync(join(dir, 'Chart.yaml'))) return merge(out, await renderHelm(root, dir, opts));
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) await renderDir(root, path, opts, out);
    else if (e.isFile() && MANIFEST_EXTENSIONS.has(extname(e.name))) merge(out, await renderPlainFile(root, path));
  }
}

function merge(into: RenderResult, from: RenderResult): void {
  into.objects.push(...from.objects);
  into.problems.push(...from.problems);
}

/** Renders `start` (a file or directory inside `root`); problems never stop the rest. */
export async function renderTree(root: string, start: string, opts: RenderOptions): Promise<RenderResult> {
  const out: RenderResult = { objects: [], problems: [] };
  if (statSync(start).isFile()) {
    if (basename(start) === 'Chart.yaml') await renderDir(root, dirname(start), opts, out);
    else merge(out, await renderPlainFile(root, start));
  } else await renderDir(root, start, opts, out);
  return out;
}
