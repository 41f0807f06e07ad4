// Paginated lists (resources, resource templates, prompts) of several upstreams as one list:
// the agent's cursor names the upstream and that upstream's own cursor, so each page is one
// upstream page passed through, in server order.
import type { Result } from '@modelcontextprotocol/sdk/types.js';
import { ProtocolError } from './protocol-errors.ts';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';

interface MergedCursor {
  readonly s: string;
  readonly c?: string;
}

export function encodeCursor(c: MergedCursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(cursor: string, servers: readonly string[]): MergedCursor {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as MergedCursor;
    if (typeof v.s === 'string' && servers.includes(v.s) && (v.c === undefined || typeof v.c === 'string')) return v;
  } catch {}
  throw new ProtocolError(ErrorCode.InvalidParams, 'invalid cursor');
}

export interface PageSource {
  readonly name: string;
  page(cursor: string | undefined): Promise<Result & { nextCursor?: string }>;
}

/** One page of the merged list; sources that fail are skipped (and reported), so one dead upstream does not hide the rest. */
export async function mergedPage(
  sources: readonly PageSource[],
  listKey: string,
  cursor: string | undefined,
  onSkipped: (source: string, error: unknown) => void,
): Promise<Result> {
  const names = sources.map((s) => s.name);
  const start = cursor === undefined ? { s: names[0] as string } : decodeCursor(cursor, names);
  for (let i = names.indexOf(start.s); i >= 0 && i < sources.length; i++) {
    const source = sources[i] as PageSource;
    let page: Result & { nextCursor?: string };
    try {
      page = await source.page(i === names.indexOf(start.s) ? start.c : undefined);
    } catch (e) {
      onSkipped(source.name, e);
      continue;
    }
    const next = page.nextCursor
      ? { s: source.name, c: page.nextCursor }
      : sources[i + 1]
        ? { s: sources[i + 1]?.name as string }
        : undefined;
    return {
      [listKey]: (page as Record<string, unknown>)[listKey] ?? [],
      ...(next ? { nextCursor: encodeCursor(next) } : {}),
    };
  }
  return { [listKey]: [] };
}
