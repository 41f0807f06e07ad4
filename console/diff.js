// Renders the server's object diff: a table of what changes, and the object before and after side
// by side with changed lines marked (stacked on a phone). The browser computes nothing here.
import { h } from './dom.js';

const scalar = (v) => (typeof v === 'string' ? v : JSON.stringify(v));

const isMap = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const token = (k) => k.replaceAll('~', '~0').replaceAll('/', '~1');

/** The object as YAML-like indented lines, each knowing its JSON pointer, so lines can be matched to changes. */
function lines(value, pointer = '', key = undefined, depth = 0, out = []) {
  const pad = '  '.repeat(depth);
  const label = key === undefined ? '' : key === '-' ? '- ' : `${key}: `;
  if (Array.isArray(value)) {
    out.push({ text: `${pad}${label}${value.length ? '' : '[]'}`, pointer });
    for (const [i, v] of value.entries()) {
      if (isMap(v) && Object.keys(v).length) {
        // "- name: server" on the item's first line, its other fields aligned under it.
        const start = out.length;
        for (const [k, cv] of Object.entries(v)) lines(cv, `${pointer}/${i}/${token(k)}`, k, depth + 2, out);
        out[start] = { text: `${'  '.repeat(depth + 1)}- ${out[start].text.trimStart()}`, pointer: `${pointer}/${i}` };
      } else lines(v, `${pointer}/${i}`, '-', depth + 1, out);
    }
  } else if (isMap(value)) {
    if (key !== undefined) out.push({ text: `${pad}${label}${Object.keys(value).length ? '' : '{}'}`, pointer });
    for (const [k, v] of Object.entries(value))
      lines(v, `${pointer}/${token(k)}`, k, key === undefined ? depth : depth + 1, out);
  } else {
    out.push({ text: `${pad}${label}${scalar(value)}`, pointer });
  }
  return out;
}

const under = (pointer, marks) => marks.some((m) => pointer === m || pointer.startsWith(`${m}/`));

function objectView(title, value, marks, markClass) {
  const body = h(
    'pre',
    { class: 'object' },
    lines(value).map((l) =>
      h('span', { class: under(l.pointer, marks) ? `line ${markClass}` : 'line' }, `${l.text}\n`),
    ),
  );
  return h('figure', { class: 'side' }, h('figcaption', {}, title), body);
}

function changesTable(changes) {
  const rows = changes.map((c) =>
    h(
      'tr',
      { class: `change ${c.change}` },
      h('th', { scope: 'row', class: 'mono' }, c.path),
      h('td', {}, c.change),
      h('td', { class: 'mono before' }, c.before === undefined ? '—' : scalar(c.before)),
      h('td', { class: 'mono after' }, c.after === undefined ? '—' : scalar(c.after)),
    ),
  );
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { class: 'changes' },
      h('caption', {}, `${changes.length} field(s) change`),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Field', 'Change', 'Before', 'Requested'].map((t) => h('th', { scope: 'col' }, t)),
        ),
      ),
      h('tbody', {}, rows),
    ),
  );
}

export function renderDiff(diff) {
  if (diff.kind === 'update') {
    const marks = diff.changes.map((c) => c.pointer);
    return h(
      'section',
      { class: 'diff', 'aria-label': 'What changes' },
      diff.changes.length
        ? changesTable(diff.changes)
        : h('p', { class: 'hint' }, 'No field changes once server bookkeeping is set aside.'),
      h(
        'div',
        { class: 'sides' },
        objectView('Before (as the agent found it)', diff.before, marks, 'old'),
        objectView('As the agent wants it', diff.after, marks, 'new'),
      ),
    );
  }
  if (diff.kind === 'create' || diff.kind === 'delete') {
    const value = diff.kind === 'create' ? diff.after : diff.before;
    const marks = diff.highlights.map((x) => x.pointer);
    return h(
      'section',
      { class: 'diff', 'aria-label': diff.kind === 'create' ? 'What it creates' : 'What it deletes' },
      h(
        'p',
        {},
        diff.kind === 'create'
          ? 'A new object. The fields that decide identity, privilege, scale and what runs are marked:'
          : 'The object it deletes:',
      ),
      diff.highlights.length
        ? h(
            'ul',
            { class: 'highlights' },
            diff.highlights.map((x) =>
              h(
                'li',
                {},
                h('span', { class: 'mono' }, x.path),
                ` = ${scalar(x.value)} `,
                h('span', { class: 'why' }, `(${x.why})`),
              ),
            ),
          )
        : null,
      objectView(
        diff.kind === 'create' ? 'Requested object' : 'Object',
        value,
        marks,
        diff.kind === 'create' ? 'new' : 'old',
      ),
    );
  }
  return h(
    'p',
    { class: 'hint' },
    'No object was kept for this request (a Secret or token is never kept, and some requests carry none): judge by the target and intent.',
  );
}
