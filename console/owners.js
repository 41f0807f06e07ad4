// Owners: who answers for which agent and in what standing, orphaned agents, attestation by the
// owner themself, and "who is answerable for this change?" for one object. A client of /v1/owners,
// /v1/owners/orphans, POST /v1/owners/attest and /v1/why; all data reaches the page as text.
import { announce, api, h, reasonForm, table, text, time } from './dom.js';
import { nav } from './nav.js';

const STATUS_PILL = { live: 'closed', 'owner-inactive': 'open', 'attestation-lapsed': 'open' };
const mark = (p) => (p.proof.verified ? `#${p.index} ✓ proven` : `#${p.index} ✗ ${p.proof.problem ?? 'unproven'}`);

function attestForm(panel, agent) {
  const until = h('input', { type: 'date', 'aria-label': `Attest ${agent} until`, required: true });
  const form = reasonForm(
    {
      Attest: async (reason) => {
        if (!until.value) throw new Error('Choose the date the attestation runs to.');
        const r = await api('/v1/owners/attest', {
          method: 'POST',
          body: { agent, until: `${until.value}T23:59:59Z`, reason },
        });
        announce(`Ownership of ${agent} attested until ${time(r.until)} (ledger #${r.ledgerIndex}).`);
        await renderOwners(panel);
      },
    },
    `Why you still answer for ${agent}`,
  );
  form.prepend(until);
  return form;
}

function ownerRows(panel, owners) {
  return owners.flatMap((o) =>
    o.agents.map((a) =>
      h(
        'tr',
        { 'data-agent': a.agent },
        h('td', {}, text(o.owner)),
        h('td', {}, text(typeof o.directory === 'string' ? o.directory : o.directory.problem)),
        h('td', {}, text(a.agent)),
        h('td', {}, text(a.authorityClass)),
        h(
          'td',
          {},
          h('span', { class: `pill ${STATUS_PILL[a.status] ?? ''}`, title: a.problem ?? '' }, text(a.status)),
        ),
        h('td', {}, a.attestedUntil ? time(a.attestedUntil) : '—'),
        h('td', {}, nav.human ? attestForm(panel, a.agent) : '—'),
      ),
    ),
  );
}

function changeItem(c) {
  const lines = [
    h(
      'p',
      {},
      h(
        'strong',
        {},
        `${time(c.change.leaf.time)} ${text(c.verb)} by ${text(c.agent)} (${text(c.authorityClass)}), owner ${text(c.owner)}`,
      ),
      ` — ${mark(c.change)}`,
    ),
    h('p', {}, `Intent: ${text(c.intent?.summary)}; policy ${text(c.policyVersion)}`),
  ];
  for (const a of c.approvals)
    for (const v of a.verdicts)
      lines.push(
        h(
          'p',
          {},
          `Approval ${a.id}: ${text(v.leaf.detail?.verdict)} by ${text(v.leaf.actor)} — “${text(v.leaf.message)}” — ${mark(v)}`,
        ),
      );
  for (const e of c.audit) lines.push(h('p', {}, `Audit event ${text(e.leaf.auditId)} — ${mark(e)}`));
  for (const d of c.drift) lines.push(h('p', {}, `Drift: ${text(d.leaf.message)} — ${mark(d)}`));
  return h('li', { class: 'card' }, ...lines);
}

function whySection() {
  const out = h('div', { 'aria-live': 'polite' });
  const input = h('input', {
    id: 'why-object',
    type: 'text',
    placeholder: 'deployment/shop/web',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const ask = async (e) => {
    e.preventDefault();
    out.replaceChildren(h('p', { class: 'hint' }, 'Reading the ledger…'));
    try {
      const w = await api(`/v1/why?object=${encodeURIComponent(input.value.trim())}`);
      const cp = w.checkpoint
        ? h(
            'p',
            { class: 'hint' },
            `Checked against signed checkpoint ${w.checkpoint.size} (${w.checkpoint.signatureValid ? 'signature valid' : 'SIGNATURE INVALID'}).`,
          )
        : null;
      out.replaceChildren(
        h('h3', {}, w.object),
        cp,
        w.changes.length
          ? h('ol', { class: 'why' }, ...w.changes.map(changeItem))
          : h('p', {}, 'No governed change recorded.'),
      );
    } catch (err) {
      out.replaceChildren(h('p', { class: 'error', role: 'alert' }, err.message));
    }
  };
  return h(
    'form',
    { class: 'card', onsubmit: ask },
    h('h3', {}, 'Who is answerable for this change?'),
    h('label', { for: 'why-object' }, 'Object (kind/namespace/name)'),
    input,
    h('button', { type: 'submit' }, 'Answer'),
    out,
  );
}

export async function renderOwners(panel) {
  const [owners, orphans] = await Promise.all([api('/v1/owners'), api('/v1/owners/orphans')]);
  const orphanNote = orphans.length
    ? h(
        'p',
        { class: 'error', role: 'status' },
        `${orphans.length} agent(s) without a live owner may not act: ${orphans.map((o) => `${o.agent} (${o.status})`).join(', ')}.`,
      )
    : h('p', { class: 'hint' }, 'Every agent has a live owner.');
  panel.replaceChildren(
    h('h2', {}, 'Owners'),
    orphanNote,
    table(
      ['Owner', 'Directory', 'Agent', 'Class', 'Status', 'Attested until', 'Attest (owner only)'],
      ownerRows(panel, owners),
    ),
    whySection(),
  );
}
