// Tether web console: a client of the same /v1 HTTP API the CLI uses. No framework, no build step.
// All API data reaches the page through textContent (never innerHTML). The token lives in this
// tab's sessionStorage only: never localStorage, never the URL.

const TOKEN_KEY = 'tether.token';
const TABS = ['agents', 'approvals', 'expansions', 'breakers', 'ledger'];

const $ = (id) => document.getElementById(id);

/** Builds an element; children are nodes or strings (strings become text nodes). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

const time = (v) => (v === undefined || v === null ? '—' : new Date(v).toLocaleString());
const text = (v) => (v === undefined || v === null || v === '' ? '—' : String(v));

class ApiError extends Error {
  constructor(status, message) {
    super(`${status}: ${message}`);
    this.status = status;
  }
}

async function api(path, opts = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = { authorization: `Bearer ${token ?? ''}` };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method: opts.method ?? 'GET', headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), cache: 'no-store' });
  let body;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  if (!res.ok) throw new ApiError(res.status, body?.message ?? res.statusText);
  return body;
}

function announce(msg, kind = 'info') {
  const s = $('status');
  s.textContent = msg;
  s.dataset.kind = kind;
}

function table(headers, rows, caption) {
  return h(
    'table',
    {},
    caption ? h('caption', {}, caption) : null,
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: headers.length, class: 'empty' }, 'Nothing here.'))),
  );
}

let formSeq = 0;
/** A reason field with action buttons; `actions` maps a button label to (reason) => Promise. */
function reasonForm(actions, label = 'Reason') {
  const id = `reason-${++formSeq}`;
  const error = h('p', { class: 'error', role: 'alert' });
  const input = h('input', { id, type: 'text', required: true, autocomplete: 'off', oninput: () => (error.textContent = '') });
  const buttons = Object.entries(actions).map(([name, run]) =>
    h(
      'button',
      {
        type: 'button',
        class: name === 'Deny' ? 'danger' : undefined,
        onclick: async (ev) => {
          const reason = input.value.trim();
          error.textContent = '';
          if (!reason) {
            error.textContent = 'A reason is required.';
            input.focus();
            return;
          }
          const all = ev.currentTarget.parentElement.querySelectorAll('button');
          for (const b of all) b.disabled = true;
          try {
            await run(reason);
          } catch (e) {
            error.textContent = e.message;
          } finally {
            for (const b of all) b.disabled = false;
          }
        },
      },
      name,
    ),
  );
  return h('form', { class: 'reason', onsubmit: (e) => e.preventDefault() }, h('label', { for: id }, label), input, h('div', { class: 'actions' }, buttons), error);
}

// ---- sections ---------------------------------------------------------------------------------

async function renderAgents(panel) {
  const agents = await api('/v1/agents');
  const detail = h('div', { class: 'card detail', 'aria-live': 'polite' }, h('p', { class: 'hint' }, 'Choose an agent to read what it may do, in plain words.'));
  const rows = agents.map((a) =>
    h(
      'tr',
      {},
      h(
        'td',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'link',
            onclick: async () => {
              detail.replaceChildren(h('p', {}, `Loading ${a.name}…`));
              try {
                const r = await api(`/v1/agents/${encodeURIComponent(a.name)}`);
                detail.replaceChildren(h('h3', {}, r.name), h('pre', { class: 'explain' }, r.explanation));
              } catch (e) {
                detail.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.message));
              }
            },
          },
          a.name,
        ),
      ),
      h('td', {}, text(a.owner)),
      h('td', {}, text(a.authorityClass)),
      h('td', {}, text(a.mode)),
      h('td', {}, h('span', { class: `pill ${a.breaker}` }, text(a.breaker))),
    ),
  );
  panel.replaceChildren(h('h2', {}, 'Agents'), table(['Name', 'Owner', 'Class', 'Mode', 'Breaker'], rows), detail);
}

async function renderApprovals(panel) {
  const list = await api('/v1/approvals?status=pending');
  const items = list.map((a) =>
    h(
      'li',
      { class: 'card', 'data-approval': a.id },
      h('h3', {}, a.summary || '(no summary)'),
      h(
        'dl',
        {},
        h('dt', {}, 'Agent'),
        h('dd', {}, text(a.agent)),
        h('dt', {}, 'Approvers'),
        h('dd', {}, a.approvers?.length ? a.approvers.join(', ') : 'administrators'),
        h('dt', {}, 'Approvals'),
        h('dd', {}, `${a.approvedBy?.length ?? 0} of ${a.minApprovals ?? 1}`),
        h('dt', {}, 'Expires'),
        h('dd', {}, time(a.expiresAt)),
        h('dt', {}, 'Rules'),
        h('dd', {}, a.rules?.length ? a.rules.join(', ') : '—'),
        h('dt', {}, 'Id'),
        h('dd', { class: 'mono' }, a.id),
      ),
      reasonForm({
        Approve: (reason) => verdict('approvals', a.id, 'approve', reason, panel, renderApprovals),
        Deny: (reason) => verdict('approvals', a.id, 'deny', reason, panel, renderApprovals),
      }),
    ),
  );
  panel.replaceChildren(h('h2', {}, 'Pending approvals'), items.length ? h('ul', { class: 'cards' }, items) : h('p', { class: 'empty' }, 'No approvals are waiting.'));
}

async function verdict(kind, id, action, reason, panel, rerender) {
  await api(`/v1/${kind}/${encodeURIComponent(id)}/${action}`, { method: 'POST', body: { reason } });
  announce(`${action === 'approve' ? 'Approved' : 'Denied'} ${kind === 'approvals' ? 'approval' : 'expansion'} ${id}.`, 'ok');
  await rerender(panel);
}

async function renderExpansions(panel) {
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
      h('details', {}, h('summary', {}, 'Requested spec'), h('pre', {}, JSON.stringify(x.requestedSpec, null, 2))),
      reasonForm({
        Approve: (reason) => verdict('expansions', x.id, 'approve', reason, panel, renderExpansions),
        Deny: (reason) => verdict('expansions', x.id, 'deny', reason, panel, renderExpansions),
      }),
    ),
  );
  panel.replaceChildren(h('h2', {}, 'Boundary expansions'), items.length ? h('ul', { class: 'cards' }, items) : h('p', { class: 'empty' }, 'No boundary expansions are waiting.'));
}

async function renderBreakers(panel) {
  const { breakers, killSwitch } = await api('/v1/breakers');
  const ks = h(
    'div',
    { class: `card killswitch ${killSwitch?.engaged ? 'engaged' : ''}` },
    h('h3', {}, 'Kill switch'),
    h('p', {}, killSwitch?.engaged ? 'ENGAGED: every agent mutation is refused.' : 'Released: agents act within their boundaries.'),
    killSwitch?.reason ? h('p', {}, `Reason: ${killSwitch.reason}`) : null,
    killSwitch?.by ? h('p', {}, `By ${killSwitch.by}, ${time(killSwitch.at)}`) : null,
  );
  const rows = breakers.map((b) => {
    const target = b.scope === 'chain' ? `chain:${b.key}` : b.key;
    return h(
      'tr',
      {},
      h('td', {}, text(b.scope)),
      h('td', {}, text(b.key)),
      h('td', {}, h('span', { class: `pill ${b.state}` }, text(b.state))),
      h('td', {}, text(b.reason ?? b.rule)),
      h('td', {}, time(b.since)),
      h(
        'td',
        {},
        b.state === 'closed'
          ? '—'
          : reasonForm({
              Reset: async (reason) => {
                await api('/v1/breakers/reset', { method: 'POST', body: { target, reason } });
                announce(`Reset breaker ${target}.`, 'ok');
                await renderBreakers(panel);
              },
            }),
      ),
    );
  });
  panel.replaceChildren(h('h2', {}, 'Breakers'), ks, table(['Scope', 'Key', 'State', 'Reason', 'Since', 'Reset'], rows));
}

function targetText(t) {
  if (!t) return '—';
  const res = [t.group, t.resource].filter(Boolean).join('/') + (t.subresource ? `/${t.subresource}` : '');
  return `${res} ${[t.namespace, t.name].filter(Boolean).join('/')}`.trim();
}

async function renderLedger(panel) {
  const head = await api('/v1/ledger/head');
  const from = Math.max(0, head.size - 50);
  const entries = (await api(`/v1/ledger?from=${from}&limit=50`)).slice().reverse();
  const rows = entries.map(({ index, leaf }) =>
    h(
      'tr',
      {},
      h('td', { class: 'num' }, String(index)),
      h('td', {}, time(leaf.time)),
      h('td', {}, text(leaf.kind)),
      h('td', {}, text(leaf.agent)),
      h('td', {}, text(leaf.actor)),
      h('td', {}, leaf.decision ? h('span', { class: `pill ${leaf.decision}` }, leaf.decision) : '—'),
      h('td', {}, text(leaf.verb)),
      h('td', {}, targetText(leaf.target)),
      h('td', {}, leaf.rules?.length ? leaf.rules.join(', ') : '—'),
      h('td', {}, text(leaf.intent?.summary)),
    ),
  );
  panel.replaceChildren(
    h('h2', {}, 'Ledger'),
    h(
      'dl',
      { class: 'card head' },
      h('dt', {}, 'Tree size'),
      h('dd', {}, String(head.size)),
      h('dt', {}, 'Root'),
      h('dd', { class: 'mono' }, text(head.root)),
      h('dt', {}, 'Latest checkpoint'),
      h('dd', {}, head.checkpoint ? `size ${head.checkpoint.size ?? '?'}, ${time(head.checkpoint.time ?? head.checkpoint.at)}` : 'none yet'),
    ),
    table(['#', 'Time', 'Kind', 'Agent', 'Actor', 'Decision', 'Verb', 'Target', 'Rules', 'Intent'], rows, `Latest ${entries.length} entries, newest first`),
  );
}

const RENDER = { agents: renderAgents, approvals: renderApprovals, expansions: renderExpansions, breakers: renderBreakers, ledger: renderLedger };

async function show(tab) {
  for (const t of TABS) {
    const active = t === tab;
    $(`tab-${t}`).setAttribute('aria-selected', String(active));
    $(`tab-${t}`).tabIndex = active ? 0 : -1;
    $(`panel-${t}`).hidden = !active;
  }
  const panel = $(`panel-${tab}`);
  panel.setAttribute('aria-busy', 'true');
  // Never act on a stale view: what was shown before is gone until the fresh one arrives.
  panel.replaceChildren(h('p', { class: 'hint' }, 'Loading…'));
  try {
    await RENDER[tab](panel);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return signOut('Your token was refused: sign in again.');
    panel.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Could not load: ${e.message}`));
  } finally {
    panel.removeAttribute('aria-busy');
  }
}

// ---- sign in ----------------------------------------------------------------------------------

async function enter() {
  const who = await api('/v1/whoami');
  $('who').textContent = who.kind === 'human' ? `Signed in as ${who.id}` : `Signed in as agent ${who.username} (read-only: agents never approve)`;
  $('who').hidden = false;
  $('signout').hidden = false;
  $('signin').hidden = true;
  $('app').hidden = false;
  await show('agents');
}

function signOut(message = 'Signed out.') {
  sessionStorage.removeItem(TOKEN_KEY);
  for (const t of TABS) $(`panel-${t}`).replaceChildren();
  $('app').hidden = true;
  $('who').hidden = true;
  $('signout').hidden = true;
  $('signin').hidden = false;
  $('token').value = '';
  announce(message);
  $('token').focus();
}

function init() {
  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('signin-error').textContent = '';
    const token = $('token').value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    try {
      await enter();
      $('token').value = '';
      announce('Signed in.');
    } catch (err) {
      sessionStorage.removeItem(TOKEN_KEY);
      $('signin-error').textContent = err instanceof ApiError && err.status === 401 ? 'That token was not accepted.' : `Sign-in failed: ${err.message}`;
    }
  });
  $('signout').addEventListener('click', () => signOut());
  const tablist = document.querySelector('[role=tablist]');
  tablist.addEventListener('click', (e) => {
    const tab = e.target.closest('[data-tab]')?.dataset.tab;
    if (tab) show(tab);
  });
  tablist.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const i = TABS.indexOf(e.target.dataset.tab);
    const next = TABS[(i + (e.key === 'ArrowRight' ? 1 : TABS.length - 1)) % TABS.length];
    $(`tab-${next}`).focus();
    show(next);
  });
  if (sessionStorage.getItem(TOKEN_KEY)) enter().catch(() => signOut('Your saved session expired: sign in again.'));
}

init();
