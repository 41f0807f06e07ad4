// Resumability (Streamable HTTP, Last-Event-ID): each session keeps the last messages it sent on
// its SSE streams, so a stream dropped during a long tool call (a load balancer's idle timeout)
// is resumed by the client and loses nothing. Bounded per session by count and by bytes; a cursor
// older than what is kept is answered by the SDK as an unknown event id.
import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

interface Stored {
  readonly id: string;
  readonly streamId: string;
  readonly message: JSONRPCMessage;
  readonly bytes: number;
}

/** One result above the byte bound is still kept, alone: the newest event is always resumable. */
export const RESUME_BYTES_PER_SESSION = 2 * 1024 * 1024;

export class SessionEventStore implements EventStore {
  readonly #maxEvents: number;
  readonly #maxBytes: number;
  readonly #events: Stored[] = [];
  readonly #byId = new Map<string, Stored>();
  #bytes = 0;
  #seq = 0;

  constructor(maxEvents: number, maxBytes = RESUME_BYTES_PER_SESSION) {
    this.#maxEvents = Math.max(1, maxEvents);
    this.#maxBytes = maxBytes;
  }

  get size(): number {
    return this.#events.length;
  }

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const e: Stored = { id: String(++this.#seq), streamId, message, bytes: JSON.stringify(message).length };
    this.#events.push(e);
    this.#byId.set(e.id, e);
    this.#bytes += e.bytes;
    while (this.#events.length > 1 && (this.#events.length > this.#maxEvents || this.#bytes > this.#maxBytes)) {
      const old = this.#events.shift() as Stored;
      this.#byId.delete(old.id);
      this.#bytes -= old.bytes;
    }
    return e.id;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return this.#byId.get(eventId)?.streamId;
  }

  async replayEventsAfter(
    lastEventId: string,
    { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> },
  ): Promise<string> {
    const last = this.#byId.get(lastEventId);
    if (!last) throw new Error(`event ${lastEventId} is no longer kept`);
    for (const e of this.#events) {
      // Priming events ({}) carry no message: they only hand the client a cursor.
      if (Number(e.id) > Number(last.id) && e.streamId === last.streamId && Object.keys(e.message).length > 0)
        await send(e.id, e.message);
    }
    return last.streamId;
  }
}
