// The live feed: server-sent events from GET /v1/review/events, read with fetch so the bearer
// token travels in a header as on every other call (EventSource cannot send one, and a token in
// a URL ends up in logs and history). Reconnects with backoff while the person is signed in.
import { $, token } from './dom.js';

function parseBlock(block) {
  let event = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  return data.length ? { event, data: JSON.parse(data.join('\n')) } : undefined;
}

async function readStream(signal, onEvent) {
  const res = await fetch('/v1/review/events', {
    headers: { authorization: `Bearer ${token()}`, accept: 'text/event-stream' },
    signal,
    cache: 'no-store',
  });
  if (!res.ok) throw Object.assign(new Error(`feed refused: ${res.status}`), { status: res.status });
  setLive('live');
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n')) {
      const msg = parseBlock(buffer.slice(0, i));
      buffer = buffer.slice(i + 2);
      if (msg) onEvent(msg.event, msg.data);
    }
  }
}

function setLive(state) {
  const el = $('live');
  el.hidden = false;
  el.dataset.state = state;
  el.textContent = state === 'live' ? '● Live' : state === 'off' ? 'Not live' : '○ Reconnecting…';
}

/** Follows the feed until `stop()`; 401/403 end it (an agent has no feed), anything else retries. */
export function follow(onEvent) {
  const ctl = new AbortController();
  (async () => {
    let wait = 1000;
    while (!ctl.signal.aborted) {
      try {
        await readStream(ctl.signal, onEvent);
        wait = 1000;
      } catch (e) {
        if (ctl.signal.aborted) return;
        if (e.status === 401 || e.status === 403) return setLive('off');
      }
      if (ctl.signal.aborted) return;
      setLive('reconnecting');
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 15_000);
    }
  })();
  return {
    stop: () => {
      ctl.abort();
      $('live').hidden = true;
    },
  };
}
