// Pending approvals: the queue (kept current by the live feed without disturbing a reason being
// typed) and one request's review view, where the diff the server computed is the centre.
import { api, announce, countdown, h, reasonForm, targetText, text } from './dom.js';
import { renderDiff } from './diff.js';
import { nav } from './nav.js';

async function verdict(id, action, reason) {
  await api(`/v1/approvals/${encodeURIComponent(id)}/${action}`, { method: 'POST', body: { reason } });
  announce(`${action === 'approve' ? 'Approved' : 'Denied'} approval ${id}.`, 'ok');
}

function card(a, panel) {
  return h(
    'li',
    { class: `card${a.waitingOnYou ? ' waiting' : ''}`, 'data-approval': a.id },
    h(
      'h3',
      {},
      a.summary || '(no summary)',
      a.waitingOnYou ? h('span', { class: 'pill pending you' }, 'waits on you') : null,
    ),
    h(
      'dl',
      {},
      h('dt', {}, 'Agent'),
      h('dd', {}, text(a.agent)),
      h('dt', {}, 'Approvers'),
      h('dd', {}, a.approvers?.length ? a.approvers.join(', ') : 'administrators'),
      h('dt', {}, 'Approvals'),
      h('dd', {}, `${a.approvedBy?.length ?? 0} of ${a.minApprovals ?? 1}`),
      h('dt', {}, 'Time left'),
      h('dd', {}, countdown(a.expiresAt)),
      h('dt', {}, 'Rules'),
      h('dd', {}, a.rules?.length ? a.rules.join(', ') : '—'),
      h('dt', {}, 'Id'),
      h('dd', { class: 'mono' }, a.id),
    ),
    nav.human
      ? h(
          'p',
          {},
          h(
            'button',
            { type: 'button', class: 'quiet', onclick: () => showApproval(panel, a.id) },
            'Review the change',
          ),
        )
      : null,
    reasonForm({
      Approve: async (reason) => {
        await verdict(a.id, 'approve', reason);
        await renderApprovals(panel);
      },
      Deny: async (reason) => {
        await verdict(a.id, 'deny', reason);
        await renderApprovals(panel);
      },
    }),
  );
}

/**
 * Brings the queue in `panel` up to `list` by id: cards that left go, new ones come in, the rest
 * stay as they are (a half-typed reason survives an update).
 */
export function updateQueue(panel, list) {
  const ul = panel.querySelector('ul.cards[data-queue]');
  if (!ul) return;
  const wanted = new Set(list.map((a) => a.id));
  for (const li of [...ul.children]) if (!wanted.has(li.dataset.approval)) li.remove();
  const have = new Map([...ul.children].map((li) => [li.dataset.approval, li]));
  let prev = null;
  for (const a of list) {
    let li = have.get(a.id);
    if (!li) li = card(a, panel);
    else li.querySelector('dd:nth-of-type(3)').textContent = `${a.approvedBy?.length ?? 0} of ${a.minApprovals ?? 1}`;
    if (prev ? prev.nextSibling !== li : ul.firstChild !== li) prev ? prev.after(li) : ul.prepend(li);
    prev = li;
  }
  panel.querySelector('.queue-empty')?.toggleAttribute('hidden', list.length > 0);
}

export async function renderApprovals(panel, id) {
  if (id) return showApproval(panel, id);
  // People see the queue with what waits on them; an agent sees what the API lets it see.
  const list = nav.human ? (await api('/v1/review/approvals')).approvals : await api('/v1/approvals?status=pending');
  panel.replaceChildren(
    h('h2', {}, 'Pending approvals'),
    h('p', { class: 'empty queue-empty', hidden: list.length > 0 }, 'No approvals are waiting.'),
    h('ul', { class: 'cards', 'data-queue': '' }),
  );
  updateQueue(panel, list);
}

function who(d) {
  const r = d.request ?? {};
  return h(
    'dl',
    { class: 'facts' },
    h('dt', {}, 'Agent'),
    h('dd', {}, text(d.agent?.name)),
    h('dt', {}, 'Owner'),
    h('dd', {}, text(d.agent?.owner)),
    h('dt', {}, 'Class'),
    h('dd', {}, `${text(d.agent?.authorityClass)}${d.agent?.mode === 'audit' ? ' (audit mode)' : ''}`),
    h('dt', {}, 'Wants to'),
    h(
      'dd',
      {},
      `${text(r.verb)} ${targetText(r.target)}`,
      r.tool ? ` via tool ${r.tool.server}/${r.tool.name}` : '',
      r.source ? ` (seen by ${r.source})` : '',
    ),
    h('dt', {}, 'Intent'),
    h(
      'dd',
      {},
      text(r.intent?.summary),
      r.intent?.goal ? ` — goal: ${r.intent.goal}` : '',
      r.intent?.trigger ? ` — trigger: ${r.intent.trigger}` : '',
    ),
    h('dt', {}, 'Chain'),
    h(
      'dd',
      {},
      r.chain
        ? h(
            'button',
            { type: 'button', class: 'link', onclick: () => nav.open('chains', r.chain.id) },
            `${r.chain.id} (depth ${r.chain.depth}${r.chain.path?.length ? `, after ${r.chain.path.join(' → ')}` : ''})`,
          )
        : 'none: the agent acted on its own',
    ),
    h('dt', {}, 'Asked for review by'),
    h(
      'dd',
      {},
      (r.rules ?? d.approval.rules).join(', ') || '—',
      r.message ? h('span', { class: 'hint' }, ` — ${r.message}`) : '',
    ),
    h('dt', {}, 'Time left'),
    h('dd', {}, countdown(d.approval.expiresAt)),
    h('dt', {}, 'Approvals'),
    h(
      'dd',
      {},
      `${d.approval.approvedBy.length} of ${d.approval.minApprovals}${d.approval.approvedBy.length ? ` (${d.approval.approvedBy.join(', ')})` : ''}`,
    ),
    h('dt', {}, 'Ledger'),
    h(
      'dd',
      {},
      r.ledgerIndex === undefined
        ? '—'
        : h(
            'button',
            { type: 'button', class: 'link', onclick: () => nav.open('ledger', r.ledgerIndex) },
            `entry ${r.ledgerIndex}: check its proof`,
          ),
    ),
  );
}

export async function showApproval(panel, id) {
  const d = await api(`/v1/review/approvals/${encodeURIComponent(id)}`);
  const back = h(
    'button',
    { type: 'button', class: 'quiet', onclick: () => renderApprovals(panel) },
    '← All pending approvals',
  );
  const decide = d.you.mayDecide
    ? reasonForm({
        Approve: async (reason) => {
          await verdict(id, 'approve', reason);
          await renderApprovals(panel);
        },
        Deny: async (reason) => {
          await verdict(id, 'deny', reason);
          await renderApprovals(panel);
        },
      })
    : h('p', { class: 'hint' }, `You cannot decide this one: ${d.you.why}.`);
  panel.replaceChildren(
    back,
    h(
      'article',
      { class: 'card review', 'data-review': id },
      h('h2', {}, d.approval.summary || `Approval ${id}`),
      h('p', { class: 'mono hint' }, id, ' · ', h('span', { class: `pill ${d.approval.status}` }, d.approval.status)),
      who(d),
      renderDiff(d.diff),
      decide,
    ),
  );
}
