// Turning what an identity provider sends into stored Users and Groups: validation, the attributes
// the service provider owns (id, meta), PATCH as Entra ID and Okta send it, projections.
import { randomUUID } from 'node:crypto';
import { patchBodyValidation, type ScimPatchOperation, ScimError, scimPatch } from 'scim-patch';
import type { ScimResource, ScimResourceType } from '../../service/directory-index.ts';
import { SCHEMA, ScimProblem } from './protocol.ts';

const MAX_DEPTH = 8;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Deep or prototype-touching documents are refused before any library walks them. */
function checkShape(v: unknown, where: string, depth = 0): void {
  if (depth > MAX_DEPTH)
    throw new ScimProblem(400, `${where} is nested deeper than ${MAX_DEPTH} levels`, 'invalidSyntax');
  if (typeof v !== 'object' || v === null) return;
  for (const [k, child] of Object.entries(v)) {
    if (FORBIDDEN_KEYS.has(k))
      throw new ScimProblem(400, `${where}: attribute name ${k} is not allowed`, 'invalidSyntax');
    checkShape(child, where, depth + 1);
  }
}

const coreSchema = (type: ScimResourceType) => (type === 'User' ? SCHEMA.user : SCHEMA.group);

/** Entra sends booleans as "True"/"False" strings in PATCH values. */
function coerceActive(r: Record<string, unknown>): void {
  if (typeof r.active === 'string' && /^(true|false)$/i.test(r.active)) r.active = r.active.toLowerCase() === 'true';
  if (r.active !== undefined && typeof r.active !== 'boolean')
    throw new ScimProblem(400, `active must be a boolean, got ${JSON.stringify(r.active)}`, 'invalidValue');
}

/** Each member listed once, by value (Okta and Entra both re-send members that are already there). */
function dedupeMembers(r: Record<string, unknown>): void {
  if (r.members === undefined) return;
  if (!Array.isArray(r.members)) throw new ScimProblem(400, 'members must be an array', 'invalidValue');
  const seen = new Set<string>();
  r.members = (r.members as unknown[]).filter((m) => {
    const value = (m as { value?: unknown } | null)?.value;
    if (typeof value !== 'string' || value === '')
      throw new ScimProblem(400, 'every member needs a value (the id of a User or Group)', 'invalidValue');
    if (seen.has(value)) return false;
    seen.add(value);
    return true;
  });
}

function checkRequired(type: ScimResourceType, r: Record<string, unknown>): void {
  const key = type === 'User' ? 'userName' : 'displayName';
  const v = r[key];
  if (typeof v !== 'string' || v.trim() === '')
    throw new ScimProblem(400, `${key} is required (a non-empty string)`, 'invalidValue');
  if (v.length > 512) throw new ScimProblem(400, `${key} is longer than 512 characters`, 'invalidValue');
  if (r.externalId !== undefined && typeof r.externalId !== 'string')
    throw new ScimProblem(400, 'externalId must be a string', 'invalidValue');
  if (type === 'User' && r.emails !== undefined && !Array.isArray(r.emails))
    throw new ScimProblem(400, 'emails must be an array', 'invalidValue');
}

/** The attributes a client sent, validated, with id and meta set by us (a client cannot choose them). */
export function resourceFrom(
  type: ScimResourceType,
  body: unknown,
  prior: ScimResource | undefined,
  now: number,
): ScimResource {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ScimProblem(400, 'the body must be a JSON object', 'invalidSyntax');
  checkShape(body, 'the resource');
  const { id: _id, meta: _meta, schemas, ...attributes } = body as Record<string, unknown>;
  if (!Array.isArray(schemas) || !schemas.includes(coreSchema(type)))
    throw new ScimProblem(400, `schemas must include ${coreSchema(type)}`, 'invalidValue');
  const r: Record<string, unknown> = { ...attributes };
  // A group with no members lists none (scim-patch drops the attribute when the last one goes).
  if (type === 'Group' && r.members === undefined) r.members = [];
  coerceActive(r);
  dedupeMembers(r);
  checkRequired(type, r);
  const version = prior ? Number(/\d+/.exec(prior.meta.version)?.[0]) + 1 : 1;
  const time = new Date(now).toISOString();
  return {
    ...r,
    schemas: schemas.filter((s): s is string => typeof s === 'string'),
    id: prior?.id ?? randomUUID(),
    meta: { resourceType: type, created: prior?.meta.created ?? time, lastModified: time, version: `W/"${version}"` },
  };
}

/**
 * scim-patch walks a path by its segments onto plain objects: `__proto__.x` would write to
 * Object.prototype for the whole process. Such names are refused before it runs.
 */
function checkPath(path: unknown): void {
  if (path === undefined) return;
  if (typeof path !== 'string') throw new ScimProblem(400, 'path must be a string', 'invalidPath');
  if (path.length > 1024) throw new ScimProblem(400, 'path is longer than 1024 characters', 'invalidPath');
  for (const segment of path.split(/[.[\]\s:]/))
    if (FORBIDDEN_KEYS.has(segment))
      throw new ScimProblem(400, `path ${JSON.stringify(path)} names ${segment}`, 'invalidPath');
}

/** Entra writes `{"op":"Replace","value":{"name.givenName":"x"}}`: dotted keys in a path-less value. */
function expandDottedKeys(op: ScimPatchOperation): ScimPatchOperation {
  if ('path' in op && op.path) return op;
  const value = (op as { value?: unknown }).value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return op;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const parts = k.includes(':') ? [k] : k.split('.');
    if (parts.some((p) => FORBIDDEN_KEYS.has(p)))
      throw new ScimProblem(400, `attribute name ${k} is not allowed`, 'invalidSyntax');
    let at = out;
    for (const p of parts.slice(0, -1)) at = (at[p] ??= {}) as Record<string, unknown>;
    at[parts.at(-1) as string] = v;
  }
  return { ...op, value: out } as ScimPatchOperation;
}

/**
 * Entra removes members as `{"op":"Remove","path":"members","value":[{"$ref":null,"value":"<id>"}]}`;
 * scim-patch would compare whole member objects, so each becomes `members[value eq "<id>"]`.
 */
function memberRemovals(op: ScimPatchOperation): ScimPatchOperation[] {
  const o = op as { op: string; path?: string; value?: unknown };
  if (o.op.toLowerCase() !== 'remove' || o.path?.toLowerCase() !== 'members' || !Array.isArray(o.value)) return [op];
  return o.value.map((m) => {
    const id = (m as { value?: unknown } | null)?.value;
    if (typeof id !== 'string' || /["\\]/.test(id))
      throw new ScimProblem(
        400,
        'each member to remove needs a value (an id without quotes or backslashes)',
        'invalidValue',
      );
    return { op: 'remove', path: `members[value eq "${id}"]` } as ScimPatchOperation;
  });
}

/** RFC 7644 §3.5.2 through scim-patch, after smoothing over what Entra and Okta send. */
export function patched(type: ScimResourceType, current: ScimResource, body: unknown, now: number): ScimResource {
  if (typeof body !== 'object' || body === null)
    throw new ScimProblem(400, 'the body must be a PatchOp object', 'invalidSyntax');
  checkShape(body, 'the PatchOp');
  const ops = (body as { Operations?: unknown }).Operations;
  if (Array.isArray(ops) && ops.length > 1000)
    throw new ScimProblem(400, 'more than 1000 operations in one PATCH', 'tooMany');
  let next: unknown;
  try {
    patchBodyValidation(body as never);
    for (const o of ops as { path?: unknown }[]) checkPath(o?.path);
    const operations = (ops as ScimPatchOperation[]).flatMap(memberRemovals).map(expandDottedKeys);
    next = scimPatch(current as never, operations, { mutateDocument: false, treatMissingAsAdd: true });
  } catch (e) {
    if (e instanceof ScimProblem) throw e;
    if (e instanceof ScimError) throw new ScimProblem(400, e.message, e.scimCode ?? 'invalidSyntax');
    // scim-patch reads the request as it walks it: a malformed operation (null, a number, a path
    // into a string) surfaces as a TypeError there. It is the client's input, so a 400.
    throw new ScimProblem(400, `the PATCH cannot be applied: ${(e as Error).message}`, 'invalidSyntax');
  }
  // id and meta belong to the service provider: a PATCH cannot move them.
  return resourceFrom(type, { ...(next as object), id: current.id, meta: current.meta }, current, now);
}

/** `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5), top-level names; id, schemas and meta always returned. */
export function project(r: ScimResource, attributes?: string, excluded?: string): Record<string, unknown> {
  const names = (s: string) =>
    new Set(
      s.split(',').map((a) =>
        a
          .trim()
          .replace(/^urn:[^ ]*:(User|Group):/, '')
          .toLowerCase(),
      ),
    );
  const keep = (k: string) => ['id', 'schemas', 'meta'].includes(k);
  if (attributes) {
    const want = names(attributes);
    return Object.fromEntries(Object.entries(r).filter(([k]) => keep(k) || want.has(k.toLowerCase())));
  }
  if (excluded) {
    const drop = names(excluded);
    return Object.fromEntries(Object.entries(r).filter(([k]) => keep(k) || !drop.has(k.toLowerCase())));
  }
  return { ...r };
}
