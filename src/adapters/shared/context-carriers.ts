// Intent, chain and approval travel in annotations, headers or MCP _meta; all carriers parse the same way.
import type { ChainContext, DeclaredTarget, Intent } from '../../engine/action.ts';
import { DecodeError } from './decode-error.ts';

export const INTENT_KEY = 'tether.dev/intent';
export const CHAIN_KEY = 'tether.dev/chain';
export const APPROVAL_KEY = 'tether.dev/approval';

/** An intent says why in a few sentences: it is stored, ledgered and shown to approvers, so it is bounded. */
export const MAX_INTENT_TEXT = 2000;
export const MAX_INTENT_TARGETS = 64;

function bounded(v: string, where: string): string {
  if (v.length > MAX_INTENT_TEXT)
    throw new DecodeError(where, `must be at most ${MAX_INTENT_TEXT} characters, got ${v.length}`);
  return v;
}

/** Intent as JSON ({"summary": …}) or, for convenience on the command line, a plain-text summary. */
export function parseIntent(raw: unknown, where: string): Intent | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  let v: unknown = raw;
  if (typeof raw === 'string') {
    const t = raw.trim();
    if (!t.startsWith('{')) return { summary: bounded(t, where) };
    try {
      v = JSON.parse(t);
    } catch (e) {
      throw new DecodeError(where, `intent is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new DecodeError(where, 'intent must be an object with a summary');
  const o = v as Record<string, unknown>;
  if (typeof o.summary !== 'string' || o.summary.trim() === '')
    throw new DecodeError(`${where}.summary`, 'intent needs a non-empty summary');
  bounded(o.summary, `${where}.summary`);
  const str = (k: string) => {
    const x = o[k];
    if (x === undefined) return undefined;
    if (typeof x !== 'string') throw new DecodeError(`${where}.${k}`, 'must be a string');
    return bounded(x, `${where}.${k}`);
  };
  let targets: DeclaredTarget[] | undefined;
  if (o.targets !== undefined) {
    if (!Array.isArray(o.targets)) throw new DecodeError(`${where}.targets`, 'must be an array');
    if (o.targets.length > MAX_INTENT_TARGETS)
      throw new DecodeError(
        `${where}.targets`,
        `may name at most ${MAX_INTENT_TARGETS} targets, got ${o.targets.length}`,
      );
    targets = o.targets.map((t, i) => {
      if (typeof t === 'string') return parseTargetString(bounded(t, `${where}.targets[${i}]`));
      if (typeof t !== 'object' || t === null)
        throw new DecodeError(`${where}.targets[${i}]`, 'must be an object or "namespace/resource/name"');
      const r = t as Record<string, unknown>;
      const pick = (k: string) =>
        typeof r[k] === 'string' ? bounded(r[k] as string, `${where}.targets[${i}].${k}`) : undefined;
      return { namespace: pick('namespace'), resource: pick('resource'), name: pick('name') };
    });
  }
  return {
    summary: o.summary,
    goal: str('goal'),
    trigger: str('trigger'),
    planStep: str('planStep'),
    model: str('model'),
    targets,
  };
}

/** "shop/deployments/web" → namespace, resource, name; "*" leaves a part open. */
function parseTargetString(s: string): DeclaredTarget {
  const [namespace, resource, name] = s.split('/');
  const open = (x: string | undefined) => (x === undefined || x === '' || x === '*' ? undefined : x);
  return { namespace: open(namespace), resource: open(resource), name: open(name) };
}

export function parseChain(raw: unknown, where: string): ChainContext | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  let v: unknown = raw;
  if (typeof raw === 'string') {
    try {
      v = JSON.parse(raw);
    } catch (e) {
      throw new DecodeError(where, `chain is not valid JSON: ${(e as Error).message}`);
    }
  }
  const o = v as Record<string, unknown>;
  if (typeof o !== 'object' || o === null) throw new DecodeError(where, 'chain must be an object');
  if (typeof o.id !== 'string' || o.id === '') throw new DecodeError(`${where}.id`, 'chain needs an id');
  const depth = o.depth ?? 0;
  if (typeof depth !== 'number' || !Number.isInteger(depth) || depth < 0)
    throw new DecodeError(`${where}.depth`, 'must be a non-negative integer');
  const path = o.path ?? [];
  if (!Array.isArray(path) || path.some((p) => typeof p !== 'string'))
    throw new DecodeError(`${where}.path`, 'must be an array of agent names');
  const parent = o.parentActionId;
  if (parent !== undefined && typeof parent !== 'string')
    throw new DecodeError(`${where}.parentActionId`, 'must be a string');
  return { id: o.id, depth, path: path as string[], parentActionId: parent as string | undefined };
}
