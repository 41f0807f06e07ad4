// One chain (trace id) as a tree: who called whom, every hop with its outcome, refused hops
// marked in words as well as colour, and the breakers the chain tripped.
import { api, h, text, time } from './dom.js';
import { nav } from './nav.js';

function hopItem(hop) {
  const outcome = hop.refused ? 'refused' : text(hop.decision ?? hop.status);
  return h(
    'li',
    { class: `hop${hop.refused ? ' refused' : ''}`, 'data-index': hop.index },
    h(
      'div',
      { class: 'hop-line' },
      h('span', { class: `pill ${hop.refused ? 'deny' : (hop.decision ?? '')}` }, outcome),
      ' ',
      h('strong', {}, hop.kind === 'tool-result' ? `tool ${hop.tool}` : `${hop.source ?? hop.kind}`),
      hop.verb ? ` ${hop.verb} ${hop.target ?? ''}` : '',
      h(
        'span',
        { class: 'hint' },
        ` · +${Math.max(0, hop.atMs)} ms`,
        hop.latencyMs !== undefined ? ` · took ${hop.latencyMs} ms` : '',
        hop.status ? ` · ${hop.status}` : '',
      ),
      ' · ',
      h('button', { type: 'button', class: 'link', onclick: () => nav.open('ledger', hop.index) }, `#${hop.index}`),
    ),
    hop.rules.length
      ? h('div', { class: 'hint' }, hop.rules.join(', '), hop.refused && hop.message ? ` — ${hop.message}` : '')
      : null,
    hop.decisions.length ? h('ul', { class: 'hops nested' }, hop.decisions.map(hopItem)) : null,
  );
}

function nodeItem(node) {
  return h(
    'li',
    { class: 'node', 'data-agent': node.agent },
    h(
      'div',
      { class: 'node-head' },
      h('strong', {}, node.agent),
      h(
        'span',
        { class: 'hint' },
        ` · depth ${node.depth}${node.path.length ? ` · called by ${node.path.join(' → ')}` : ''}`,
      ),
    ),
    h('ul', { class: 'hops' }, node.hops.map(hopItem)),
    node.children.length ? h('ul', { class: 'tree' }, node.children.map(nodeItem)) : null,
  );
}

function breakerList(breakers) {
  if (!breakers.length) return h('p', { class: 'hint' }, 'No breaker tripped on this chain.');
  return h(
    'ul',
    { class: 'breakers' },
    breakers.map((b) =>
      h(
        'li',
        { class: 'card trip' },
        h('span', { class: `pill ${b.to}` }, b.to),
        ` ${b.scope} ${b.key}: ${b.from} → ${b.to}`,
        b.rule ? ` (${b.rule})` : '',
        b.message ? h('span', { class: 'hint' }, ` — ${b.message}`) : '',
        b.cause !== undefined ? ` · caused by #${b.cause}` : '',
        h('span', { class: 'hint' }, ` · ${time(b.time)}`),
      ),
    ),
  );
}

export async function renderChains(panel, id) {
  const input = h('input', { id: 'chain-id', type: 'text', autocomplete: 'off', spellcheck: 'false', value: id ?? '' });
  const out = h('div', { 'aria-live': 'polite' });
  const form = h(
    'form',
    {
      class: 'inline',
      onsubmit: (e) => (e.preventDefault(), input.value.trim() && nav.open('chains', input.value.trim())),
    },
    h('label', { for: 'chain-id' }, 'Chain (trace) id'),
    input,
    h('button', { type: 'submit' }, 'Open chain'),
  );
  panel.replaceChildren(h('h2', {}, 'Chains'), form, out);
  if (!id) {
    out.append(h('p', { class: 'hint' }, 'Open a chain from an approval, or paste a trace id.'));
    return;
  }
  const v = await api(`/v1/review/chains/${encodeURIComponent(id)}`);
  out.replaceChildren(
    h(
      'p',
      { class: 'summary' },
      `${v.entries} ledger entries, ${v.refused} refused${v.truncated ? ' (the first 1000 shown)' : ''}.`,
    ),
    h('ul', { class: 'tree root', 'data-chain': v.id }, v.roots.map(nodeItem)),
    h('h3', {}, 'Breakers'),
    breakerList(v.breakers),
  );
}
