// Calls across a real MessageChannel: results and errors come back to the right caller, calls made in
// one turn travel as one message.
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
  p.close();
});
