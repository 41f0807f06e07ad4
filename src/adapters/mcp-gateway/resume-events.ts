// Resumability (Streamable HTTP, Last-Event-ID): each session keeps the last messages it sent on
// its SSE streams, so a stream dropped during a long tool call (a load balancer's idle timeout)
// is resumed by the client and loses nothing. Bounded per session by count and by bytes; a cursor
// older than what is kept is answered by the SDK as an unknown event id.
import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/**
 * An event as it was sent: its text, not the message object. The object would stay shared with
 * whoever holds it (a later change would alter the replay), and its heap size is several times its
 * JSON's, so the byte bound would not bound what a session holds.
 */
interface Stored {
  readonly seq: number;
  readonly streamId: string;
  readonly text: string;
}

/** One result above the byte bound is still kept, alone: the newest event is always resumable. */
export const RESUME_BYTES_PER_SESSION = 2 * 1024 * 1024;

/** The SDK's priming event: it carries no message, only a cursor for the client. */
const PRIMING = '{}';

export class SessionEventStore implements EventStore {
  readonly #maxEvents: number;
  readonly #maxBytes: number;
  readonly #events: Stored[] = [];
  readonly #bySeq = new Map<number, Stored>();
  #bytes = 0;
  #seq = 0;

  constructor(maxEvents: number, maxBytes = RESUME_BYTES_PER_SESSION) {
    this.#maxEvents = Math.max(1, maxEvents);
    this.#maxBytes = maxBytes;
  }

  get size(): number {
    return this.#events.length;
  }

  /** What the kept events hold, in UTF-16 code units of their text (what the bound counts). */
  get bytes(): number {
    return this.#bytes;
  }

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const e: Stored = { seq: ++this.#seq, streamId, text: JSON.stringify(message) };
    this.#events.push(e);
    this.#bySeq.set(e.seq, e);
    this.#bytes += e.text.length;
    while (this.#events.length > 1 && (this.#events.length > this.#maxEvents || this.#bytes > this.#maxBytes)) {
      const old = this.#events.shift() as Stored;
      this.#bySeq.delete(old.seq);
      this.#bytes -= old.text.length;
    }
    return String(e.seq);
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return this.#find(eventId)?.streamId;
  }

  async replayEventsAfter(
    lastEventId: string,
    { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> },
  ): Promise<string> {
    const last = this.#find(lastEventId);
    if (!last) throw new Error(`event ${lastEventId} is no longer kept`);
    for (const e of this.#events) {
      if (e.seq > last.seq && e.streamId === last.streamId && e.text !== PRIMING)
        await send(String(e.seq), JSON.parse(e.text) as JSONRPCMessage);
    }
    return last.streamId;
  }

  /** Ids are the decimal numbers this store hands out; anything else (a client's Last-Event-ID) is unknown. */
  #find(id: string): Stored | undefined {
    return /^[1-9][0-9]{0,15}$/.test(id) ? this.#bySeq.get(Number(id)) : undefined;
  }
}
