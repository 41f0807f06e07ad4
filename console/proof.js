// Checks a ledger entry in the browser, trusting nothing the server computed: the leaf hash is
// recomputed from the entry's exact bytes, the RFC 6962 inclusion path is walked to a root, that
// root must be the one the checkpoint signs, and the Ed25519 signature is checked with WebCrypto.
import { ApiError, api, announce, h, text, time } from './dom.js';
import { nav } from './nav.js';

const PINNED_KEY = 'tether.trustedKeyId';
const CHECKPOINT_ORIGIN = 'tether.dev/ledger/v1';
const utf8 = (s) => new TextEncoder().encode(s);

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
const leafHash = (data) => sha256(concat(Uint8Array.of(0), utf8(data)));
const nodeHash = (l, r) => sha256(concat(Uint8Array.of(1), l, r));
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

function fromHex(s) {
  if (typeof s !== 'string' || !/^([0-9a-f]{2})*$/i.test(s)) throw new Error('not hex');
  return Uint8Array.from(s.match(/../g) ?? [], (x) => Number.parseInt(x, 16));
}
const fromBase64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const toBase64 = (b) => btoa(String.fromCharCode(...b));

/** RFC 9162 §2.1.3.2 with arithmetic (sizes may pass 2^32): the root the path leads to, or undefined. */
export async function rootFromInclusionProof(index, size, leaf, proof) {
  if (!(index >= 0 && index < size) || leaf.length !== 32 || proof.some((p) => p.length !== 32)) return undefined;
  const odd = (n) => n % 2 === 1;
  const half = (n) => Math.floor(n / 2);
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (odd(fn) || fn === sn) {
      r = await nodeHash(p, r);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 ? r : undefined;
}

function pemToDer(pem) {
  const body = pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, '').replace(/\s+/g, '');
  return fromBase64(body);
}

/** Every check, in order; stops at the first that fails. Returns { ok, steps, checkpoint, keyId }. */
export async function verifyBundle(b, pinnedKeyId) {
  const steps = [];
  // Each check says what it found, in words for either outcome.
  const step = (ok, passed, failed = passed) => {
    steps.push({ ok, label: ok ? passed : failed });
    return ok;
  };
  const done = (ok) => ({ ok, steps, checkpoint: b.checkpoint, keyId: b.checkpoint?.keyId });
  let leaf;
  try {
    leaf = JSON.parse(b.data);
  } catch {
    step(false, 'The entry is not JSON');
    return done(false);
  }
  if (
    !step(
      leaf.index === b.index,
      `The entry commits to its position, ${b.index}`,
      `The entry says it sits at index ${leaf.index}, not ${b.index}`,
    )
  )
    return done(false);
  if (!b.checkpoint) {
    step(false, `No signed checkpoint covers entry ${b.index} yet`);
    return done(false);
  }
  const c = b.checkpoint;
  const lh = await leafHash(b.data);
  step(true, `Leaf hash recomputed from the entry’s bytes: ${hex(lh).slice(0, 16)}…`);
  let root;
  try {
    root = c.size === b.size ? await rootFromInclusionProof(b.index, b.size, lh, b.proof.map(fromHex)) : undefined;
  } catch {
    root = undefined;
  }
  let signed;
  try {
    signed = fromHex(c.root);
  } catch {
    signed = new Uint8Array();
  }
  const leads = root !== undefined && equal(root, signed);
  if (
    !step(
      leads,
      `The Merkle path (${b.proof.length} hashes) leads to the root checkpoint ${c.size} signs`,
      `The Merkle path does not lead to the root checkpoint ${c.size} signs`,
    )
  )
    return done(false);
  const der = pemToDer(b.publicKey.pem);
  const keyId = hex(await sha256(der)).slice(0, 16);
  if (
    !step(
      keyId === c.keyId,
      `The public key’s id ${keyId} is the one that signed`,
      `The checkpoint was signed by key ${c.keyId}, not by the served key ${keyId}`,
    )
  )
    return done(false);
  if (
    pinnedKeyId &&
    !step(
      keyId === pinnedKeyId,
      `The key is the one you trust (${pinnedKeyId})`,
      `The key ${keyId} is not the one you trust (${pinnedKeyId})`,
    )
  )
    return done(false);
  let valid = false;
  try {
    const key = await crypto.subtle.importKey('spki', der, { name: 'Ed25519' }, false, ['verify']);
    const body = utf8(`${CHECKPOINT_ORIGIN}\n${c.size}\n${toBase64(root)}\n${c.time}\n`);
    valid = await crypto.subtle.verify({ name: 'Ed25519' }, key, fromBase64(c.signature), body);
  } catch {
    valid = false;
  }
  if (!step(valid, 'The checkpoint’s Ed25519 signature is valid', 'The checkpoint’s Ed25519 signature does not verify'))
    return done(false);
  return done(true);
}

function leafSummary(data) {
  try {
    const l = JSON.parse(data);
    return h(
      'dl',
      {},
      ['kind', 'time', 'agent', 'actor', 'decision', 'verb', 'message'].flatMap((k) =>
        l[k] === undefined ? [] : [h('dt', {}, k), h('dd', {}, text(l[k]))],
      ),
    );
  } catch {
    return h('p', { class: 'error' }, 'The entry could not be read.');
  }
}

function pinForm(onChange) {
  const input = h('input', {
    id: 'pinned-key',
    type: 'text',
    autocomplete: 'off',
    spellcheck: 'false',
    value: localStorage.getItem(PINNED_KEY) ?? '',
  });
  return h(
    'form',
    { class: 'inline', onsubmit: (e) => e.preventDefault() },
    h('label', { for: 'pinned-key' }, 'Key id you trust (from where checkpoints are published; optional)'),
    input,
    h(
      'button',
      {
        type: 'button',
        class: 'quiet',
        onclick: () => {
          const v = input.value.trim();
          // A public key id, not a secret: kept across sessions so the check holds the server to it.
          if (v) localStorage.setItem(PINNED_KEY, v);
          else localStorage.removeItem(PINNED_KEY);
          onChange();
        },
      },
      'Save',
    ),
  );
}

/** Fetches entry `index` with its proof and checkpoint, verifies it here, and shows every step. */
export async function renderProof(box, index) {
  box.replaceChildren(h('p', { class: 'hint' }, `Checking entry ${index}…`));
  const b = await api(`/v1/review/proof/${encodeURIComponent(index)}`);
  const result = await verifyBundle(b, localStorage.getItem(PINNED_KEY) || undefined);
  const verdict = result.ok
    ? h(
        'p',
        { class: 'verdict ok', role: 'status' },
        `✓ Verified against checkpoint ${result.checkpoint.size}, signed by key ${result.keyId}`,
      )
    : h('p', { class: 'verdict failed', role: 'alert' }, `✗ Not verified: ${result.steps.at(-1)?.label ?? 'unknown'}`);
  const steps = h(
    'ol',
    { class: 'steps' },
    result.steps.map((s) => h('li', { class: s.ok ? 'ok' : 'failed' }, `${s.ok ? '✓' : '✗'} ${s.label}`)),
  );
  const sign =
    !b.checkpoint &&
    h(
      'button',
      {
        type: 'button',
        onclick: async () => {
          await api('/v1/ledger/checkpoint', { method: 'POST', body: {} });
          announce('Signed a checkpoint of the current ledger.', 'ok');
          // The whole ledger view, so its head shows the new checkpoint too; it checks the entry again.
          await nav.open('ledger', index);
        },
      },
      'Sign a checkpoint now, then check again',
    );
  const parts = [
    h('h3', {}, `Ledger entry ${index}`),
    verdict,
    steps,
    sign,
    leafSummary(b.data),
    b.checkpoint
      ? h('p', { class: 'hint' }, `Checkpoint ${b.checkpoint.size} signed ${time(b.checkpoint.time)}.`)
      : null,
    pinForm(() => renderProof(box, index)),
    h('details', {}, h('summary', {}, 'The exact bytes the leaf hash commits to'), h('pre', {}, b.data)),
  ];
  box.replaceChildren(...parts.filter((p) => p instanceof Node));
  box.dataset.verified = String(result.ok);
}

export function proofPanel(initial) {
  const box = h('div', { class: 'card proof', id: 'proof', 'aria-live': 'polite' });
  const input = h('input', {
    id: 'proof-index',
    type: 'text',
    inputmode: 'numeric',
    autocomplete: 'off',
    value: initial ?? '',
  });
  const check = async () => {
    const v = input.value.trim();
    if (!/^[0-9]+$/.test(v)) {
      box.replaceChildren(h('p', { class: 'error', role: 'alert' }, 'Give a ledger index (a whole number).'));
      return;
    }
    try {
      await renderProof(box, Number(v));
    } catch (e) {
      box.replaceChildren(
        h('p', { class: 'error', role: 'alert' }, e instanceof ApiError ? e.message : `Could not check: ${e.message}`),
      );
    }
  };
  const form = h(
    'form',
    { class: 'inline', onsubmit: (e) => (e.preventDefault(), check()) },
    h('label', { for: 'proof-index' }, 'Check ledger entry #'),
    input,
    h('button', { type: 'submit' }, 'Verify in this browser'),
  );
  return { element: h('div', {}, form, box), check: (i) => ((input.value = String(i)), check()) };
}
