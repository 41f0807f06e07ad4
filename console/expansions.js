// Boundary expansions: what approving would add, in words and as a small graph of the requested
// boundary (new parts marked), and the effective reach when the server has a cluster view.
import { api, announce, h, reasonForm, svg, text, time } from './dom.js';
import { nav } from './nav.js';

const COLUMN = { agent: 10, namespace: 190, capability: 370 };
const ROW = 34;
const clip = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** Three columns: the agent, its namespaces, its capabilities; new nodes drawn dashed and labelled "new". */
export function boundaryGraph(graph) {
  const rows = { agent: 0, namespace: 0, capability: 0 };
  const at = new Map();
  for (const n of graph.nodes) at.set(n.id, { x: COLUMN[n.kind], y: 10 + ROW * rows[n.kind]++, n });
  const height = 20 + ROW * Math.max(1, ...Object.values(rows));
  const width = 720;
  const edges = graph.edges.map((e) => {
    const a = at.get(e.from);
    const b = at.get(e.to);
    return svg('line', {
      x1: a.x + 160,
      y1: a.y + 12,
      x2: b.x,
      y2: b.y + 12,
      class: `edge${b.n.added ? ' added' : ''}`,
    });
  });
  const nodes = [...at.values()].map(({ x, y, n }) =>
    svg(
      'g',
      { class: `node ${n.kind}${n.added ? ' added' : ''}` },
      svg('rect', { x, y, width: n.kind === 'capability' ? 340 : 160, height: 24, rx: 4 }),
      svg('title', {}, n.label),
      svg(
        'text',
        { x: x + 6, y: y + 16 },
        clip(`${n.added ? 'new: ' : ''}${n.label}`, n.kind === 'capability' ? 52 : 24),
      ),
    ),
  );
  return svg(
    'svg',
    {
      viewBox: `0 0 ${width} ${height}`,
      class: 'graph',
      role: 'img',
      'aria-label': 'The requested boundary; new parts are marked new',
    },
    edges,
    nodes,
  );
}

async function showExpansion(panel, id) {
  const d = await api(`/v1/review/expansions/${encodeURIComponent(id)}`);
  const x = d.expansion;
  const reach = d.reach.clusterView
    ? h(
        'ul',
        { class: 'reach' },
        d.reach.lines.map((l) => h('li', {}, l)),
        d.reach.problems.map((p) => h('li', { class: 'error' }, p)),
      )
    : h('p', { class: 'no-cluster-view' }, d.reach.message);
  panel.replaceChildren(
    h(
      'button',
      { type: 'button', class: 'quiet', onclick: () => renderExpansions(panel) },
      '← All boundary expansions',
    ),
    h(
      'article',
      { class: 'card review', 'data-expansion-review': id },
      h('h2', {}, x.summary || `Widen the boundary of ${x.agent}`),
      h(
        'dl',
        {},
        h('dt', {}, 'Agent'),
        h('dd', {}, x.agent),
        h('dt', {}, 'Requested by'),
        h('dd', {}, text(x.requestedBy)),
        h('dt', {}, 'Diff digest'),
        h('dd', { class: 'mono' }, x.diffDigest),
      ),
      h('h3', {}, 'Newly allowed'),
      d.widening.length
        ? h(
            'ul',
            { class: 'widening' },
            d.widening.map((w) => h('li', {}, w)),
          )
        : h('p', { class: 'hint' }, 'Nothing wider than what is enforced.'),
      h('div', { class: 'scroll' }, boundaryGraph(d.graph)),
      h('h3', {}, 'Effective reach in the cluster'),
      reach,
      x.status === 'pending' ? verdictForm(panel, id) : h('p', {}, `This request is ${x.status}.`),
    ),
  );
}

function verdictForm(panel, id) {
  const run = (action) => async (reason) => {
    await api(`/v1/expansions/${encodeURIComponent(id)}/${action}`, { method: 'POST', body: { reason } });
    announce(`${action === 'approve' ? 'Approved' : 'Denied'} expansion ${id}.`, 'ok');
    await renderExpansions(panel);
  };
  return reasonForm({ Approve: run('approve'), Deny: run('deny') });
}

export async function renderExpansions(panel, id) {
  if (id) return showExpansion(panel, id);
  const list = await api('/v1/expansions?status=pending');
  const items = list.map((x) =>
    h(
      'li',
      { class: 'card', 'data-expansion': x.id },
      h('h3', {}, x.summary || `Widen the boundary of ${x.agent}`),
      h(
        'dl',
        {},
        h('dt', {}, 'Agent'),
        h('dd', {}, text(x.agent)),
        h('dt', {}, 'Requested by'),
        h('dd', {}, text(x.requestedBy)),
        h('dt', {}, 'Requested'),
        h('dd', {}, time(x.requestedAt)),
        h('dt', {}, 'Diff digest'),
        h('dd', { class: 'mono' }, text(x.diffDigest)),
      ),
      nav.human
        ? h(
            'p',
            {},
            h(
              'button',
              { type: 'button', class: 'quiet', onclick: () => showExpansion(panel, x.id) },
              'What would this add?',
            ),
          )
        : null,
      verdictForm(panel, x.id),
    ),
  );
  panel.replaceChildren(
    h('h2', {}, 'Boundary expansions'),
    items.length
      ? h('ul', { class: 'cards' }, items)
      : h('p', { class: 'empty' }, 'No boundary expansions are waiting.'),
  );
}
