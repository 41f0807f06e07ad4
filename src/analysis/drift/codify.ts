// The 'codify' response: the agent's live change is written back into the Git working copy, in
// the file that declares it, as a commit on a new branch for human review. The agent's change
// becomes a pull request instead of a silent divergence. Every edit is verified by rendering the
// branch again; an edit that does not reach the rendered object (the value comes from a kustomize
// patch or transformer) is left out and reported. The user's checkout is never touched: the
// branch is prepared in a separate worktree.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, type Document } from 'yaml';
import { DriftInputError } from './errors.ts';
import { exec } from './exec.ts';
import { findWorkingCopy, git, resolveRevision } from './git.ts';
import type {
  ActorClass,
  AttributedDrift,
  Confidence,
  DriftReport,
  FieldPath,
  KubeObject,
  ObjectFinding,
} from './model.ts';
import { describeId, idKey, idOf } from './object-id.ts';
import { renderTree } from './render.ts';
import { applySplices, removeValue, replaceValue, type Splice } from './yaml-edit.ts';

export interface CodifyOptions {
  /** The working copy the report was made from (same as for loadDesiredState). */
  readonly repo: string;
  /** Directory or file below `repo` that was rendered. */
  readonly path?: string;
  readonly namespace?: string;
  /** New branch name; default `tether/drift-<time>`. */
  readonly branch?: string;
  /** Whose changes to codify (default: agents only). */
  readonly actors?: readonly ActorClass[];
  /** Weakest attribution accepted (default medium). */
  readonly minConfidence?: Confidence;
  readonly author?: { readonly name: string; readonly email: string };
  readonly now?: Date;
}

export interface CodifiedChange {
  readonly object: string;
  readonly path: string;
  readonly file: string;
  readonly from: unknown;
  readonly to: unknown;
  readonly actor: string;
}

export interface CodifyResult {
  /** Absent when nothing could be codified (no branch is created then). */
  readonly branch?: string;
  readonly commit?: string;
  readonly base: string;
  readonly files: readonly string[];
  readonly codified: readonly CodifiedChange[];
  readonly skipped: readonly { readonly object: string; readonly path: string; readonly why: string }[];
}

const RANK: Record<Confidence, number> = { low: 0, medium: 1, high: 2 };

interface Candidate {
  readonly finding: ObjectFinding;
  readonly drift: AttributedDrift;
}

function selected(report: DriftReport, opts: CodifyOptions, skip: (c: Candidate, why: string) => void): Candidate[] {
  const actors = opts.actors ?? ['agent'];
  const min = RANK[opts.minConfidence ?? 'medium'];
  const out: Candidate[] = [];
  for (const finding of report.findings) {
    if (finding.state !== 'drifted') continue;
    for (const drift of finding.fields) {
      const a = drift.attribution;
      if (!actors.includes(a.actor.class) || RANK[a.confidence] < min) continue;
      const c = { finding, drift };
      if (finding.id.kind === 'Secret') skip(c, 'Secret values are never written to Git');
      else if (a.pendingSync) skip(c, 'Git already changed this value; the cluster waits for a sync');
      else if (!finding.source || finding.source.renderer === 'helm')
        skip(c, 'rendered by helm: change the chart values by hand');
      else out.push(c);
    }
  }
  return out;
}

function renderedName(doc: Document.Parsed): { kind?: unknown; name?: unknown } {
  const v = doc.toJS() as { kind?: unknown; metadata?: { name?: unknown } } | null;
  return { kind: v?.kind, name: v?.metadata?.name };
}

/** The document in `docs` that declares the finding's object. */
function findDocument(docs: Document.Parsed[], finding: ObjectFinding): Document.Parsed | string {
  const src = finding.source;
  if (src?.doc !== undefined) return docs[src.doc] ?? `document ${src.doc + 1} is gone`;
  const sameKind = docs.filter((d) => renderedName(d).kind === finding.id.kind);
  const exact = sameKind.filter((d) => renderedName(d).name === finding.id.name);
  if (exact.length === 1) return exact[0] as Document.Parsed;
  // kustomize namePrefix/nameSuffix: the file holds the base name.
  const partial = sameKind.filter(
    (d) => typeof renderedName(d).name === 'string' && finding.id.name.includes(renderedName(d).name as string),
  );
  if (partial.length === 1) return partial[0] as Document.Parsed;
  return `no single ${finding.id.kind} document for ${finding.id.name} in ${src?.file}`;
}

function valueAt(obj: unknown, path: FieldPath): unknown {
  let cur: unknown = obj;
  for (const seg of path) {
    if ('field' in seg)
      cur =
        typeof cur === 'object' && cur !== null && !Array.isArray(cur)
          ? (cur as Record<string, unknown>)[seg.field]
          : undefined;
    else if (!Array.isArray(cur)) return undefined;
    else if ('index' in seg) cur = cur[seg.index];
    else if ('member' in seg) cur = cur.includes(seg.member) ? seg.member : undefined;
    else
      cur = cur.find(
        (i) =>
          typeof i === 'object' &&
          i !== null &&
          Object.entries(seg.key).every(
            ([k, v]) =>
              (i as Record<string, unknown>)[k] === v ||
              ((i as Record<string, unknown>)[k] === undefined && k === 'protocol' && v === 'TCP'),
          ),
      );
  }
  return cur;
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

async function editFiles(
  worktree: string,
  candidates: readonly Candidate[],
  skip: (c: Candidate, why: string) => void,
): Promise<{ applied: Candidate[]; originals: Map<string, string> }> {
  const byFile = new Map<string, Candidate[]>();
  for (const c of candidates) {
    const file = (c.finding.source as { file: string }).file;
    byFile.set(file, [...(byFile.get(file) ?? []), c]);
  }
  const applied: Candidate[] = [];
  const originals = new Map<string, string>();
  for (const [file, list] of byFile) {
    let text: string;
    try {
      text = await readFile(join(worktree, file), 'utf8');
    } catch {
      for (const c of list) skip(c, `${file} does not exist at this revision`);
      continue;
    }
    const docs = parseAllDocuments(text) as Document.Parsed[];
    const splices: Splice[] = [];
    for (const c of list) {
      const doc = findDocument(docs, c.finding);
      if (typeof doc === 'string') {
        skip(c, doc);
        continue;
      }
      const edit =
        c.drift.live === undefined
          ? removeValue(text, doc, c.drift.path)
          : replaceValue(text, doc, c.drift.path, c.drift.live);
      if (typeof edit === 'string') {
        skip(c, `${file}: ${edit} (the value may come from a kustomize patch or transformer)`);
        continue;
      }
      if (splices.some((s) => s.start < edit.end && edit.start < s.end)) {
        skip(c, `${file}: overlaps another edit`);
        continue;
      }
      splices.push(edit);
      applied.push(c);
    }
    if (splices.length > 0) {
      originals.set(file, text);
      await writeFile(join(worktree, file), applySplices(text, splices));
    }
  }
  return { applied, originals };
}

/** Renders the worktree (in a scratch copy: rendering edits kustomizations) and keeps the edits that took. */
async function verify(
  worktree: string,
  prefix: string,
  opts: CodifyOptions,
  applied: readonly Candidate[],
): Promise<{ ok: Candidate[]; failed: Candidate[] }> {
  const scratch = await mkdtemp(join(tmpdir(), 'tether-codify-verify-'));
  try {
    await cp(worktree, scratch, { recursive: true, filter: (src) => !src.endsWith('/.git') });
    const rendered = await renderTree(scratch, join(scratch, prefix, opts.path ?? ''), {
      namespace: opts.namespace ?? 'default',
    });
    const byKey = new Map<string, KubeObject>(
      rendered.objects.map((r) => [idKey(idOf(r.object, opts.namespace ?? 'default')), r.object]),
    );
    const ok: Candidate[] = [];
    const failed: Candidate[] = [];
    for (const c of applied) {
      const obj = byKey.get(idKey(c.finding.id));
      (obj && sameValue(valueAt(obj, c.drift.path), c.drift.live) ? ok : failed).push(c);
    }
    return { ok, failed };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function commitMessage(changes: readonly CodifiedChange[], report: DriftReport, reasons: readonly string[]): string {
  const agents = [...new Set(changes.map((c) => c.actor))];
  const lines = [
    `drift: codify live changes by ${agents.join(', ')}`,
    '',
    'Tether found these changes in the cluster, made outside Git, and wrote them back for review.',
  ];
  if (report.revision) lines.push(`Compared with ${report.revision.ref} (${report.revision.commit}).`);
  lines.push('');
  const show = (v: unknown) => (v === undefined ? '(removed)' : JSON.stringify(v));
  for (const c of changes) lines.push(`- ${c.object} ${c.path}: ${show(c.from)} -> ${show(c.to)} (${c.file})`);
  if (reasons.length) lines.push('', ...reasons.map((r) => `Intent: ${r}`));
  return `${lines.join('\n')}\n`;
}

function actorText(d: AttributedDrift): string {
  const a = d.attribution.actor;
  return `${a.class} ${a.name ?? a.username ?? '?'}${a.owner ? ` (owner ${a.owner})` : ''}`;
}

export async function codify(report: DriftReport, opts: CodifyOptions): Promise<CodifyResult> {
  const wc = await findWorkingCopy(opts.repo);
  if (!wc) throw new DriftInputError(`${opts.repo} is not a Git working copy: codify needs one to commit to`);
  const base = report.revision?.commit ?? (await resolveRevision(wc.top, 'HEAD'));
  const skipped: { object: string; path: string; why: string }[] = [];
  const skip = (c: Candidate, why: string) =>
    skipped.push({ object: describeId(c.finding.id), path: c.drift.display, why });
  const candidates = selected(report, opts, skip);
  if (candidates.length === 0) return { base, files: [], codified: [], skipped };

  const stamp = (opts.now ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  const branch = opts.branch ?? `tether/drift-${stamp}`;
  const taken = await exec('git', ['-C', wc.top, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]);
  if (taken.code === 0)
    throw new DriftInputError(`branch ${branch} already exists in ${wc.top}; name another with --branch`);
  const worktree = await mkdtemp(join(tmpdir(), 'tether-codify-'));
  await git(wc.top, ['worktree', 'add', '--quiet', '-b', branch, worktree, base]);
  try {
    const prefix = wc.prefix;
    let { applied, originals } = await editFiles(worktree, candidates, skip);
    let check = await verify(worktree, prefix, opts, applied);
    if (check.failed.length > 0) {
      for (const c of check.failed)
        skip(
          c,
          `${c.finding.source?.file}: edited, but the rendered object still differs (the value comes from a kustomize patch or transformer)`,
        );
      for (const [file, text] of originals) await writeFile(join(worktree, file), text);
      ({ applied, originals } = await editFiles(worktree, check.ok, skip));
      check = await verify(worktree, prefix, opts, applied);
      for (const c of check.failed) skip(c, 'edit could not be verified');
      if (check.failed.length > 0) for (const [file, text] of originals) await writeFile(join(worktree, file), text);
    }
    const done = check.failed.length > 0 ? [] : check.ok;
    const codified: CodifiedChange[] = done.map((c) => ({
      object: describeId(c.finding.id),
      path: c.drift.display,
      file: c.finding.source?.file ?? '?',
      from: c.drift.desired,
      to: c.drift.live,
      actor: actorText(c.drift),
    }));
    if (codified.length === 0) {
      await git(wc.top, ['worktree', 'remove', '--force', worktree]);
      await git(wc.top, ['branch', '-D', branch]);
      return { base, files: [], codified, skipped };
    }
    const files = [...new Set(codified.map((c) => c.file))].sort();
    const author = opts.author ?? { name: 'Tether drift', email: 'tether@localhost' };
    const env = {
      GIT_AUTHOR_NAME: author.name,
      GIT_AUTHOR_EMAIL: author.email,
      GIT_COMMITTER_NAME: author.name,
      GIT_COMMITTER_EMAIL: author.email,
    };
    const intents = [
      ...new Set(done.map((c) => c.drift.attribution.actor.intent?.summary).filter((s): s is string => !!s)),
    ];
    await git(worktree, ['add', '--', ...files]);
    await git(worktree, ['commit', '--quiet', '--no-verify', '-m', commitMessage(codified, report, intents)], env);
    const commit = (await git(worktree, ['rev-parse', 'HEAD'])).trim();
    return { branch, commit, base, files, codified, skipped };
  } finally {
    await git(wc.top, ['worktree', 'remove', '--force', worktree]).catch(() => undefined);
    await rm(worktree, { recursive: true, force: true });
  }
}
