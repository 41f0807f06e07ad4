// Query strings and path parameters → typed values, with a precise 400 for what cannot be:
// a parameter given twice, a NUL (PostgreSQL text cannot hold one), `limit=1.5`, an unknown
// status. Lists are paged: `limit` (at most MAX_PAGE) and an opaque `cursor` from the previous
// page's `x-next-cursor` header; the body stays the plain array it always was.
import type { FastifyReply } from 'fastify';
import type { Page, PageRequest } from '../../service/api-reads.ts';
import type { PageCursor } from '../../store/store.ts';
import { DecodeError } from '../shared/decode-error.ts';

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

type Query = Record<string, unknown>;

/** A text parameter given at most once, without NUL. */
export function single(q: Query, name: string): string | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new DecodeError(name, 'may be given once');
  return text(v, name);
}

/** Any text a client names something with (query value, path parameter): no NUL. */
export function text(v: string, name: string): string {
  if (v.includes('\0')) throw new DecodeError(name, 'must not contain NUL');
  return v;
}

export function oneOf<T extends string>(q: Query, name: string, allowed: readonly T[]): T | undefined {
  const v = single(q, name);
  if (v !== undefined && !allowed.includes(v as T))
    throw new DecodeError(name, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T | undefined;
}

export function integer(
  q: Query,
  name: string,
  range: { readonly min: number; readonly max: number },
): number | undefined {
  const v = single(q, name);
  if (v === undefined) return undefined;
  const n = /^-?\d+$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < range.min || n > range.max)
    throw new DecodeError(name, `must be a whole number from ${range.min} to ${range.max}, got ${JSON.stringify(v)}`);
  return n;
}

/** A time as RFC 3339 / ISO 8601, in ms since the epoch. */
export function time(q: Query, name: string): number | undefined {
  const v = single(q, name);
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (!Number.isFinite(t))
    throw new DecodeError(name, `must be a time such as 2026-11-29T10:00:00Z, got ${JSON.stringify(v)}`);
  return t;
}

export function pageOf(q: Query): PageRequest {
  const cursor = single(q, 'cursor');
  return {
    limit: integer(q, 'limit', { min: 1, max: MAX_PAGE }) ?? DEFAULT_PAGE,
    after: cursor === undefined ? undefined : decodeCursor(cursor),
  };
}

function encodeCursor(c: PageCursor): string {
  return Buffer.from(JSON.stringify([c.at, c.id])).toString('base64url');
}

function decodeCursor(s: string): PageCursor {
  try {
    const [at, id] = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown[];
    if (Number.isSafeInteger(at) && typeof id === 'string' && !id.includes('\0')) return { at: at as number, id };
  } catch {}
  throw new DecodeError('cursor', 'is not a cursor this server handed out (take it from the x-next-cursor header)');
}

/** The page's items as the body; where the list goes on, and how long it is, as headers. */
export function sendPage<T>(reply: FastifyReply, page: Page<T>): readonly T[] {
  if (page.total !== undefined) void reply.header('x-total-count', String(page.total));
  if (page.next) void reply.header('x-next-cursor', encodeCursor(page.next));
  return page.items;
}
