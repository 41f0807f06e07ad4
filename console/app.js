// Tether web console: a client of the same /v1 HTTP API the CLI uses. No framework, no build step.
// All API data reaches the page through text nodes (never innerHTML). The token lives in this
// tab's sessionStorage only: never localStorage, never the URL.
import { renderApprovals, updateQueue } from './approvals.js';
import { renderChains } from './chain.js';
import {
  $,
  ApiError,
  TOKEN_KEY,
  api,
  announce,
  h,
  reasonForm,
  table,
  targetText,
  text,
  tickCountdowns,
  time,
} from './dom.js';
import { renderDrift } from './drift.js';
import { renderExpansions } from './expansions.js';
import { follow } from './live.js';
import { nav } from './nav.js';
import { renderOwners } from './owners.js';
import { proofPanel } from './proof.js';

const TABS = ['agents', 'approvals', 'expansions', 'chains', 'drift', 'breakers', 'ledger', 'owners'];
let feed;
let current;

// ---- sections ---------------------------------------------------------------------------------

async function renderAgents(panel) {
  const agents = await api('/v1/agents');
  const detail = h(
    'div',
    { class: 'card detail', 'aria-live': 'polite' },
    h('p', { class: 'hint' }, 'Choose an agent to read what it may do, in plain words.'),
  );
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

function breakerView(panel, { breakers, killSwitch }) {
  const ks = h(
    'div',
    { class: `card killswitch ${killSwitch?.engaged ? 'engaged' : ''}` },
    h('h3', {}, 'Kill switch'),
    h(
      'p',
      {},
      killSwitch?.engaged
        ? 'ENGAGED: every agent mutation is refused.'
        : 'Released: agents act within their boundaries.',
    ),
    killSwitch?.reason ? h('p', {}, `Reason: ${killSwitch.reason}`) : null,
    killSwitch?.by ? h('p', {}, `By ${killSwitch.by}, ${time(killSwitch.at)}`) : null,
  );
  const rows = breakers.map((b) => {
    const target = b.scope === 'chain' ? `chain:${b.key}` : b.key;
    return h(
      'tr',
      { 'data-breaker': `${b.scope}:${b.key}` },
      h('td', {}, text(b.scope)),
      h(
        'td',
        {},
        b.scope === 'chain'
          ? h('button', { type: 'button', class: 'link', onclick: () => nav.open('chains', b.key) }, b.key)
          : text(b.key),
      ),
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
  panel.replaceChildren(
    h('h2', {}, 'Breakers'),
    ks,
    table(['Scope', 'Key', 'State', 'Reason', 'Since', 'Reset'], rows),
  );
}

async function renderBreakers(panel) {
  breakerView(panel, await api('/v1/breakers'));
}

async function renderLedger(panel, verifyIndex) {
  const head = await api('/v1/ledger/head');
  const from = Math.max(0, head.size - 50);
  const entries = (await api(`/v1/ledger?from=${from}&limit=50`)).slice().reverse();
  const proof = proofPanel(verifyIndex);
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
      h(
        'td',
        {},
        leaf.chain
          ? h('button', { type: 'button', class: 'link', onclick: () => nav.open('chains', leaf.chain.id) }, 'chain')
          : '—',
      ),
      h(
        'td',
        {},
        nav.human ? h('button', { type: 'button', class: 'link', onclick: () => proof.check(index) }, 'verify') : '—',
      ),
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
      h(
        'dd',
        {},
        head.checkpoint
          ? `size ${head.checkpoint.size ?? '?'}, ${time(head.checkpoint.time ?? head.checkpoint.at)}`
          : 'none yet',
      ),
    ),
    nav.human ? proof.element : null,
    table(
      ['#', 'Time', 'Kind', 'Agent', 'Actor', 'Decision', 'Verb', 'Target', 'Rules', 'Intent', 'Chain', 'Proof'],
      rows,
      `Latest ${entries.length} entries, newest first`,
    ),
  );
  if (verifyIndex !== undefined && nav.human) await proof.check(verifyIndex);
}

const RENDER = {
  agents: renderAgents,
  approvals: renderApprovals,
  expansions: renderExpansions,
  chains: renderChains,
  drift: renderDrift,
  breakers: renderBreakers,
  ledger: renderLedger,
  owners: renderOwners,
};

async function show(tab, arg) {
  current = tab;
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
    await RENDER[tab](panel, arg);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return signOut('Your token was refused: sign in again.');
    panel.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Could not load: ${e.message}`));
  } finally {
    panel.removeAttribute('aria-busy');
  }
}

// ---- live -------------------------------------------------------------------------------------

function badge(tab, count, label) {
  const el = $(`badge-${tab}`);
  el.textContent = count > 0 ? String(count) : '';
  el.hidden = count === 0;
  el.setAttribute('aria-label', label);
}

function onLive(event, data) {
  if (event === 'approvals') {
    badge('approvals', data.waitingOnYou, `${data.waitingOnYou} waiting on you`);
    const panel = $('panel-approvals');
    if (current === 'approvals') updateQueue(panel, data.approvals);
  } else if (event === 'breakers') {
    const open = data.breakers.filter((b) => b.state === 'open').length + (data.killSwitch?.engaged ? 1 : 0);
    badge('breakers', open, `${open} open`);
    const panel = $('panel-breakers');
    // Redrawn only when nobody is typing a reset reason in it.
    const typing = [...panel.querySelectorAll('input')].some((i) => i.value !== '');
    if (current === 'breakers' && !typing) breakerView(panel, data);
  }
}

// ---- sign in ----------------------------------------------------------------------------------

async function enter() {
  const who = await api('/v1/whoami');
  nav.human = who.kind === 'human';
  $('who').textContent = nav.human
    ? `Signed in as ${who.id}`
    : `Signed in as agent ${who.username} (read-only: agents never approve)`;
  $('who').hidden = false;
  $('signout').hidden = false;
  $('signin').hidden = true;
  $('app').hidden = false;
  feed?.stop();
  feed = nav.human ? follow(onLive) : undefined;
  await show('agents');
}

function signOut(message = 'Signed out.') {
  sessionStorage.removeItem(TOKEN_KEY);
  feed?.stop();
  feed = undefined;
  nav.human = false;
  for (const t of TABS) $(`panel-${t}`).replaceChildren();
  for (const t of ['approvals', 'breakers']) badge(t, 0, '');
  $('app').hidden = true;
  $('who').hidden = true;
  $('signout').hidden = true;
  $('signin').hidden = false;
  $('token').value = '';
  announce(message);
  $('token').focus();
}

function init() {
  nav.open = (tab, arg) => show(tab, arg);
  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('signin-error').textContent = '';
    const value = $('token').value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    try {
      await enter();
      $('token').value = '';
      announce('Signed in.');
    } catch (err) {
      sessionStorage.removeItem(TOKEN_KEY);
      $('signin-error').textContent =
        err instanceof ApiError && err.status === 401
          ? 'That token was not accepted.'
          : `Sign-in failed: ${err.message}`;
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
    const i = TABS.indexOf(e.target.closest('[data-tab]')?.dataset.tab);
    const next = TABS[(i + (e.key === 'ArrowRight' ? 1 : TABS.length - 1)) % TABS.length];
    $(`tab-${next}`).focus();
    show(next);
  });
  setInterval(tickCountdowns, 1000);
  if (sessionStorage.getItem(TOKEN_KEY)) enter().catch(() => signOut('Your saved session expired: sign in again.'));
}

init();
