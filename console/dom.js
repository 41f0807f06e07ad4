// Shared by the console's modules: element building (data only ever through text nodes), the
// API client (the token from this tab's sessionStorage, sent as a header, never in a URL),
// status messages and the reason form every verdict needs.

export const TOKEN_KEY = 'tether.token';

export const $ = (id) => document.getElementById(id);

/** Builds an element; children are nodes or strings (strings become text nodes). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Number.POSITIVE_INFINITY))
    if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
/** An SVG element: attributes only (no inline style: the CSP forbids it), text through text nodes. */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children.flat(Number.POSITIVE_INFINITY))
    if (c !== undefined && c !== null) el.append(c instanceof Node ? c : String(c));
  return el;
}

export const time = (v) => (v === undefined || v === null ? '—' : new Date(v).toLocaleString());
export const text = (v) => (v === undefined || v === null || v === '' ? '—' : String(v));

export class ApiError extends Error {
  constructor(status, message) {
    super(`${status}: ${message}`);
    this.status = status;
  }
}

export const token = () => sessionStorage.getItem(TOKEN_KEY) ?? '';

export async function api(path, opts = {}) {
  const headers = { authorization: `Bearer ${token()}` };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method: opts.method ?? 'GET',
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    cache: 'no-store',
  });
  let body;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  if (!res.ok) throw new ApiError(res.status, body?.message ?? res.statusText);
  return body;
}

export function announce(msg, kind = 'info') {
  const s = $('status');
  s.textContent = msg;
  s.dataset.kind = kind;
}

/** A table inside a horizontally scrollable box, so a phone scrolls the table, not the page. */
export function table(headers, rows, caption) {
  return h(
    'div',
    { class: 'scroll' },
    h(
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
      h(
        'tbody',
        {},
        rows.length ? rows : h('tr', {}, h('td', { colspan: headers.length, class: 'empty' }, 'Nothing here.')),
      ),
    ),
  );
}

let formSeq = 0;
/** A reason field with action buttons; `actions` maps a button label to (reason) => Promise. */
export function reasonForm(actions, label = 'Reason') {
  const id = `reason-${++formSeq}`;
  const error = h('p', { class: 'error', role: 'alert' });
  const input = h('input', {
    id,
    type: 'text',
    required: true,
    autocomplete: 'off',
    oninput: () => (error.textContent = ''),
  });
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
  return h(
    'form',
    { class: 'reason', onsubmit: (e) => e.preventDefault() },
    h('label', { for: id }, label),
    input,
    h('div', { class: 'actions' }, buttons),
    error,
  );
}

export function targetText(t) {
  if (!t) return '—';
  const res = [t.group, t.resource].filter(Boolean).join('/') + (t.subresource ? `/${t.subresource}` : '');
  return `${res} ${[t.namespace, t.name].filter(Boolean).join('/')}`.trim();
}

/** "4 min 10 s" from milliseconds; the TTL ticker keeps it current. */
export function duration(ms) {
  if (ms <= 0) return 'expired';
  const s = Math.floor(ms / 1000);
  const m = Math.floor(s / 60);
  const hours = Math.floor(m / 60);
  if (hours > 0) return `${hours} h ${m % 60} min`;
  if (m > 0) return `${m} min ${s % 60} s`;
  return `${s} s`;
}

/** An element that counts down to `expiresAt` (epoch ms); the console's ticker updates it every second. */
export function countdown(expiresAt) {
  return h('span', { class: 'ttl', 'data-expires': expiresAt }, duration(expiresAt - Date.now()));
}

export function tickCountdowns() {
  for (const el of document.querySelectorAll('[data-expires]')) {
    const left = Number(el.dataset.expires) - Date.now();
    el.textContent = duration(left);
    el.classList.toggle('expired', left <= 0);
  }
}
