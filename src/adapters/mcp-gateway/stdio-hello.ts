// Over stdio the gateway must read the agent's `initialize` before it can build the session: the
// upstreams are offered the agent's own capabilities, and the agent is offered the upstreams'.
// This wrapper holds messages back until the session is connected, then hands them over in order.
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { jsonRpcErrorBody } from './protocol-errors.ts';

export interface DeferredTransport extends Transport {
  onInitialize(hook: (initialize: JSONRPCMessage) => Promise<void>): void;
}

export function deferUntilInitialize(inner: Transport): DeferredTransport {
  let hook: ((m: JSONRPCMessage) => Promise<void>) | undefined;
  let started = false;
  let state: 'waiting' | 'opening' | 'open' = 'waiting';
  const held: JSONRPCMessage[] = [];

  const wrapper: DeferredTransport = {
    onInitialize(h) {
      hook = h;
    },
    async start() {
      if (started) return;
      started = true;
      await inner.start();
    },
    send: (message, options) => inner.send(message, options),
    close: () => inner.close(),
  };

  const release = () => {
    state = 'open';
    for (const m of held.splice(0)) wrapper.onmessage?.(m);
  };

  inner.onmessage = (message) => {
    if (state === 'open') return wrapper.onmessage?.(message);
    if (state === 'opening') return void held.push(message);
    const m = message as { id?: string | number; method?: string };
    if (m.method !== 'initialize') {
      if (m.id !== undefined && m.method !== undefined)
        void inner.send(jsonRpcErrorBody(ErrorCode.InvalidRequest, 'send initialize first', m.id) as JSONRPCMessage);
      return;
    }
    state = 'opening';
    held.push(message);
    (hook as (m: JSONRPCMessage) => Promise<void>)(message).then(release, (e: unknown) => {
      state = 'waiting';
      held.length = 0;
      void inner.send(
        jsonRpcErrorBody(
          ErrorCode.InternalError,
          `the gateway could not open the session: ${(e as Error).message}`,
          m.id ?? null,
        ) as JSONRPCMessage,
      );
    });
  };
  inner.onclose = () => wrapper.onclose?.();
  inner.onerror = (e) => wrapper.onerror?.(e);
  return wrapper;
}
