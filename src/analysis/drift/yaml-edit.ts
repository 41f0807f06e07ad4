// Surgical edits of YAML manifests: a value replaced, a key or list item removed, everything
// else (comments, quoting, indentation, sequence style) left byte for byte, so the commit a
// reviewer sees holds only the change. Re-serialising the document would reformat it.
import {
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  type ParsedNode,
  Scalar,
  stringify,
} from 'yaml';
import type { FieldPath, PathSegment } from './model.ts';

export interface Splice {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

type Located = {
  node: ParsedNode;
  pair?: Pair<ParsedNode, ParsedNode | null>;
  parentSeqItemIndex?: number;
  parent?: ParsedNode;
};

function scalarValue(n: unknown): unknown {
  return isScalar(n) ? n.value : undefined;
}

function itemMatches(item: unknown, key: Readonly<Record<string, unknown>>): boolean {
  if (!isMap(item)) return false;
  return Object.entries(key).every(([k, v]) => {
    const have = item.get(k);
    return have === v || (have === undefined && k === 'protocol' && v === 'TCP');
  });
}

function child(node: ParsedNode, seg: PathSegment): Located | undefined {
  if ('field' in seg) {
    if (!isMap(node)) return undefined;
    const pair = node.items.find((p) => scalarValue(p.key) === seg.field);
    return pair?.value
      ? { node: pair.value, pair: pair as Pair<ParsedNode, ParsedNode | null>, parent: node }
      : undefined;
  }
  if (!isSeq(node)) return undefined;
  let i = -1;
  if ('key' in seg) i = node.items.findIndex((it) => itemMatches(it, seg.key));
  else if ('index' in seg) i = seg.index < node.items.length ? seg.index : -1;
  else i = node.items.findIndex((it) => scalarValue(it) === seg.member);
  const item = node.items[i];
  return i >= 0 && item ? { node: item as ParsedNode, parentSeqItemIndex: i, parent: node } : undefined;
}

/** The node at `path` in a parsed document, or undefined when the document does not hold it. */
export function locate(doc: Document.Parsed, path: FieldPath): Located | undefined {
  let at: Located | undefined = doc.contents ? { node: doc.contents } : undefined;
  for (const seg of path) {
    if (!at) return undefined;
    at = child(at.node, seg);
  }
  return at;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

function lineEnd(text: string, offset: number): number {
  const nl = text.indexOf('\n', offset);
  return nl < 0 ? text.length : nl + 1;
}

function column(text: string, offset: number): number {
  return offset - lineStart(text, offset);
}

function renderScalar(value: unknown, old: Scalar): string | undefined {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string' || value.includes('\n')) return undefined;
  if (old.type === Scalar.QUOTE_DOUBLE) return JSON.stringify(value);
  if (old.type === Scalar.QUOTE_SINGLE) return `'${value.replaceAll("'", "''")}'`;
  // Plain when it reads back as the same string, quoted otherwise ("8080" must stay a string).
  return stringify(value, { lineWidth: 0 }).trimEnd();
}

function renderBlock(value: unknown, indent: number): string {
  const lines = stringify(value, { lineWidth: 0, indentSeq: false }).trimEnd().split('\n');
  return lines.map((l, i) => (i === 0 ? l : `${' '.repeat(indent)}${l}`)).join('\n');
}

/** The splice that sets the node at `path` to `value`, or why it cannot be done in place. */
export function replaceValue(text: string, doc: Document.Parsed, path: FieldPath, value: unknown): Splice | string {
  const at = locate(doc, path);
  if (!at) return 'the source document does not hold this path';
  const node = at.node as Node & { range?: [number, number, number] };
  const range = node.range;
  if (!range) return 'the source node has no position';
  if (isScalar(node)) {
    if (typeof value === 'object' && value !== null) return 'Git holds a scalar where the cluster holds a structure';
    const rendered = value === null ? 'null' : renderScalar(value, node);
    if (rendered === undefined) return 'the new value is a multi-line string';
    return { start: range[0], end: range[1], text: rendered };
  }
  if ((isMap(node) || isSeq(node)) && !node.flow) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) !== isSeq(node))
      return 'the cluster holds a different structure than Git';
    return { start: range[0], end: range[1], text: renderBlock(value, column(text, range[0])) };
  }
  return 'the source uses flow style or an alias here';
}

/** The splice that removes the key or list item at `path` (whole lines). */
export function removeValue(text: string, doc: Document.Parsed, path: FieldPath): Splice | string {
  const at = locate(doc, path);
  if (!at) return 'the source document does not hold this path';
  if (at.parent && (at.parent as { flow?: boolean }).flow) return 'the source uses flow style here';
  if (at.pair && isPair(at.pair) && at.pair.key) {
    const keyRange = (at.pair.key as Node).range;
    const valueRange = (at.node as Node).range;
    if (!keyRange || !valueRange) return 'the source node has no position';
    return {
      start: lineStart(text, keyRange[0]),
      end: lineEnd(text, Math.max(valueRange[1] - 1, keyRange[0])),
      text: '',
    };
  }
  if (at.parentSeqItemIndex !== undefined) {
    const r = (at.node as Node).range;
    if (!r) return 'the source node has no position';
    return { start: lineStart(text, r[0]), end: lineEnd(text, Math.max(r[1] - 1, r[0])), text: '' };
  }
  return 'cannot remove the document root';
}

/** Applies non-overlapping splices (any order) to `text`. */
export function applySplices(text: string, splices: readonly Splice[]): string {
  const sorted = [...splices].sort((a, b) => b.start - a.start);
  let out = text;
  let limit = Number.POSITIVE_INFINITY;
  for (const s of sorted) {
    if (s.end > limit) throw new Error('overlapping edits');
    out = out.slice(0, s.start) + s.text + out.slice(s.end);
    limit = s.start;
  }
  return out;
}
