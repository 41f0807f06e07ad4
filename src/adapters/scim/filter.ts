// SCIM filters (RFC 7644 §3.4.2.2) parsed by scim2-parse-filter. Its evaluator compares strings
// case-sensitively; SCIM says strings compare by the attribute's caseExact (false for userName,
// emails, displayName — Entra and Okta look users up by userName in whatever case they hold), so the
// tester below folds case for every attribute except the caseExact ones.
import { type Filter, parse, Tester } from 'scim2-parse-filter';
import { ScimProblem } from './protocol.ts';

const CASE_EXACT = new Set(['id', 'externalid', 'meta.version']);
const COMPARE = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'lt', 'ge', 'le']);
const fold = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v);

class CaseAwareTester extends Tester {
  override test(r: unknown, f: Filter): boolean {
    if (!COMPARE.has(f.op) || !('compValue' in f) || typeof f.compValue !== 'string') return super.test(r, f);
    const path = f.attrPath.includes(':') ? f.attrPath.slice(f.attrPath.lastIndexOf(':') + 1) : f.attrPath;
    if (CASE_EXACT.has(path.toLowerCase())) return super.test(r, f);
    const op = f.op as 'eq';
    const value = fold(f.compValue) as string;
    return this.attrTest(this.attrPath(f.attrPath), r, (s) => this[op](fold(s), value));
  }
}

const tester = new CaseAwareTester();

/** A predicate over stored resources, or a SCIM invalidFilter error naming what is wrong. */
export function compileFilter(text: string | undefined): (r: unknown) => boolean {
  if (text === undefined || text.trim() === '') return () => true;
  if (text.length > 4096) throw new ScimProblem(400, 'filter is longer than 4096 characters', 'invalidFilter');
  let f: Filter;
  try {
    f = parse(text);
  } catch (e) {
    throw new ScimProblem(
      400,
      `filter ${JSON.stringify(text)} does not parse: ${(e as Error).message}`,
      'invalidFilter',
    );
  }
  return (r) => tester.test(r, f);
}
