// Drift findings from the ledger: which object left Git's desired state, who did it (with how
// sure Tether is, and from what evidence), and the CLI commands that revert or codify it.
import { api, h, text, time } from './dom.js';

function actorText(a) {
  if (!a) return 'unknown';
  const name = a.name ?? a.username ?? a.manager ?? '?';
  return `${a.class} ${name}${a.owner ? ` (owner ${a.owner})` : ''} — ${a.confidence} confidence, from ${a.evidence?.join(', ') || 'no evidence'}`;
}

function findingCard(f) {
  const d = f.leaf.detail ?? {};
  const fields = Array.isArray(d.fields) ? d.fields : [];
  return h(
    'li',
    { class: 'card', 'data-drift': f.object },
    h('h3', {}, text(f.leaf.message)),
    h(
      'dl',
      {},
      h('dt', {}, 'Object'),
      h('dd', { class: 'mono' }, f.object),
      h('dt', {}, 'State'),
      h('dd', {}, text(d.state)),
      h('dt', {}, 'Seen'),
      h('dd', {}, time(f.time)),
      h('dt', {}, 'Agent'),
      h('dd', {}, text(f.leaf.agent), f.leaf.intent?.summary ? ` — intent: ${f.leaf.intent.summary}` : ''),
      d.source
        ? [
            h('dt', {}, 'In Git'),
            h('dd', { class: 'mono' }, `${d.source}${d.revision ? ` @ ${String(d.revision).slice(0, 12)}` : ''}`),
          ]
        : null,
      d.actor ? [h('dt', {}, 'By'), h('dd', {}, actorText(d.actor))] : null,
    ),
    fields.length
      ? h(
          'ul',
          { class: 'fields' },
          fields.map((x) =>
            h('li', {}, h('span', { class: 'mono' }, x.path), ` ${x.change} — by ${actorText(x.actor)}`),
          ),
        )
      : null,
    h(
      'details',
      {},
      h('summary', {}, 'Revert or codify (CLI)'),
      h(
        'dl',
        {},
        f.actions.map((a) => [h('dt', {}, a.label), h('dd', {}, h('code', {}, a.command))]),
      ),
    ),
  );
}

export async function renderDrift(panel) {
  const findings = await api('/v1/review/drift');
  panel.replaceChildren(
    h('h2', {}, 'Drift'),
    h(
      'p',
      { class: 'hint' },
      'The latest finding per object, newest first. Values are never in the ledger, only digests: see the CLI for them.',
    ),
    findings.length
      ? h('ul', { class: 'cards' }, findings.map(findingCard))
      : h('p', { class: 'empty' }, 'No drift has been recorded.'),
  );
}
