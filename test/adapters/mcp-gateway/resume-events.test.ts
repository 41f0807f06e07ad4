// The session event store behind Last-Event-ID: what a resumed stream gets back, and what a session
// may hold. The end-to-end resumption (a stream cut mid-call, the SDK client reconnecting) is in
// sessions.test.ts; these are the store's own promises, including against a client's made-up cursor.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { SessionEventStore } from '../../../src/adapters/mcp-gateway/resume-events.ts';

const note = (n: number): JSONRPCMessage => ({
  jsonrpc: '2.0',
  method: 'notifications/progress',
  params: { progressToken: 't', progress: n },
});

async function replay(store: SessionEventStore, after: string) {
  const got: [string, JSONRPCMessage][] = [];
  const stream = await store.replayEventsAfter(after, { send: async (id, m) => void got.push([id, m]) });
  return { stream, got };
}

test('a resumed stream gets every later message of its own stream, in order, without priming events', async () => {
  const store = new SessionEventStore(10);
  const cursor = await store.storeEvent('a', {} as JSONRPCMessage);
  await store.storeEvent('a', note(1));
  await store.storeEvent('b', note(99));
  await store.storeEvent('a', {} as JSONRPCMessage);
  await store.storeEvent('a', note(2));
  const { stream, got } = await replay(store, cursor);
  assert.equal(stream, 'a');
  assert.deepEqual(
    got.map(([, m]) => m),
    [note(1), note(2)],
  );
  assert.equal(await store.getStreamIdForEventId(cursor), 'a');
});

test('what is replayed is what was sent: a message changed after it was stored does not change the replay', async () => {
  const store = new SessionEventStore(10);
  const cursor = await store.storeEvent('a', {} as JSONRPCMessage);
  const sent = note(1);
  await store.storeEvent('a', sent);
  (sent as { params: { progress: number } } & JSONRPCMessage).params.progress = 1000;
  const { got } = await replay(store, cursor);
  assert.deepEqual(got[0]?.[1], note(1));
});

test('a session keeps at most its count of events and its bytes; the newest is kept even when alone above the bound', async () => {
  const byCount = new SessionEventStore(3);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push(await byCount.storeEvent('a', note(i)));
  assert.equal(byCount.size, 3);
  await assert.rejects(replay(byCount, ids[1] as string), /no longer kept/);
  assert.deepEqual((await replay(byCount, ids[2] as string)).got.length, 2);

  const one = JSON.stringify(note(1)).length;
  const byBytes = new SessionEventStore(100, one * 2);
  for (let i = 1; i <= 4; i++) await byBytes.storeEvent('a', note(i));
  assert.equal(byBytes.size, 2);
  assert.ok(byBytes.bytes <= one * 2);
  const big = new SessionEventStore(100, 10);
  await big.storeEvent('a', note(1));
  await big.storeEvent('a', note(2));
  assert.equal(big.size, 1, 'the newest event stays, alone, though it is above the bound');
});

test('attacker: a made-up or malformed Last-Event-ID is unknown, never a neighbour of a kept event', async () => {
  const store = new SessionEventStore(10);
  await store.storeEvent('a', note(1));
  await store.storeEvent('a', note(2));
  for (const forged of ['01', '1.0', ' 1', '1e0', '0x1', '-1', '0', '3', '9'.repeat(40), '__proto__', '']) {
    await assert.rejects(replay(store, forged), /no longer kept/, `cursor ${JSON.stringify(forged)}`);
    assert.equal(await store.getStreamIdForEventId(forged), undefined);
  }
});
