// Calls across a real MessageChannel: results and errors come back to the right caller, calls made in
// one turn travel as one message, a caller whose other side is gone fails fast, and no name reaches
// Object.prototype.
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { test } from 'node:test';
import { Answerer, Caller } from '../../src/common/thread-calls.ts';

class Busy extends Error {
  override name = 'ContentionError';
}

function pair(methods: Record<string, (arg: never) => Promise<unknown>>) {
  const { port1, port2 } = new MessageChannel();
  let messages = 0;
  const caller = new Caller((calls) => {
    messages++;
    port1.postMessage({ calls });
  });
  const answerer = new Answerer(methods, (answers) => port2.postMessage({ answers }));
  port2.on('message', (m: { calls: never }) => answerer.answer(m.calls));
  port1.on('message', (m: { answers: never }) => caller.settle(m.answers));
  const close = () => {
    port1.close();
    port2.close();
  };
  return { caller, messages: () => messages, close };
}

test('each caller gets its own answer; the calls of one turn travel in one message', async () => {
  const p = pair({ double: async (n: number) => n * 2 });
  const results = await Promise.all([1, 2, 3, 4].map((n) => p.caller.call<number>('double', n)));
  assert.deepEqual(results, [2, 4, 6, 8]);
  assert.equal(p.messages(), 1);
  assert.equal(p.caller.inFlight, 0);
  p.close();
});

test('an error keeps its name and message across the threads; an unknown method is refused', async () => {
  const p = pair({
    decide: async () => {
      throw new Busy('lost the race twice');
    },
  });
  await assert.rejects(p.caller.call('decide', {}), { name: 'ContentionError', message: 'lost the race twice' });
  await assert.rejects(p.caller.call('approve', {}), /no method approve/);
  // Only the answerer's own methods: Object.prototype's are not reachable by name.
  for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty'])
    await assert.rejects(p.caller.call(name, {}), new RegExp(`no method ${name}`));
  p.close();
});

test('when the other side is gone, waiting and later calls fail at once instead of hanging', async () => {
  const p = pair({ never: () => new Promise(() => undefined) });
  const waiting = p.caller.call('never', null);
  p.caller.fail(new Error('the thread exited'));
  await assert.rejects(waiting, /the thread exited/);
  await assert.rejects(p.caller.call('never', null), /the thread exited/);
  assert.equal(p.caller.inFlight, 0);
  p.close();
});

test('flush sends the calls of this turn before a message that must follow them', async () => {
  const seen: string[] = [];
  const { port1, port2 } = new MessageChannel();
  const caller = new Caller((calls) => port1.postMessage({ calls }));
  port2.on('message', (m: { calls?: { method: string }[]; close?: true }) =>
    seen.push(...(m.calls ? m.calls.map((c) => c.method) : ['close'])),
  );
  void caller.call('a', null);
  void caller.call('b', null);
  caller.flush();
  port1.postMessage({ close: true });
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(seen, ['a', 'b', 'close']);
  port1.close();
  port2.close();
});
