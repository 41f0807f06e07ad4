// Calls from one thread to another over a message port, as plain data: the caller gets a promise,
// the callee runs the named method and answers. Calls (and answers) made in one turn of the event
// loop travel in one message: under load a message per request costs more than the work it carries.

export interface Call {
  readonly id: number;
  readonly method: string;
  readonly arg: unknown;
}

export type Answer =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | {
      readonly id: number;
      readonly ok: false;
      readonly error: { readonly name: string; readonly message: string; readonly stack?: string };
    };

/** Gathers what one turn of the event loop produces and posts it as one message. */
class Outbox<T> {
  #items: T[] = [];
  readonly #post: (items: T[]) => void;

  constructor(post: (items: T[]) => void) {
    this.#post = post;
  }

  push(item: T): void {
    if (this.#items.length === 0) setImmediate(() => this.flush());
    this.#items.push(item);
  }

  flush(): void {
    if (this.#items.length === 0) return;
    const items = this.#items;
    this.#items = [];
    this.#post(items);
  }
}

interface Pending {
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
}

/** The calling side: one per port. */
export class Caller {
  readonly #pending = new Map<number, Pending>();
  readonly #outbox: Outbox<Call>;
  #next = 0;
  #dead: Error | undefined;

  constructor(post: (calls: Call[]) => void) {
    this.#outbox = new Outbox(post);
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  call<T>(method: string, arg: unknown): Promise<T> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#outbox.push({ id, method, arg });
    });
  }

  settle(answers: readonly Answer[]): void {
    for (const a of answers) {
      const p = this.#pending.get(a.id);
      if (!p) continue;
      this.#pending.delete(a.id);
      if (a.ok) p.resolve(a.value);
      // The error's name survives the trip: callers tell a ContentionError from a failure by it.
      else p.reject(Object.assign(new Error(a.error.message), a.error));
    }
  }

  /** Sends the calls of this turn now (before a message that must follow them). */
  flush(): void {
    this.#outbox.flush();
  }

  /** The other side is gone: every waiting call fails with `e`, and so does every later one. */
  fail(e: Error): void {
    this.#dead ??= e;
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
  }
}

/** The answering side: runs each call's method and posts the outcomes, one message per turn. */
export class Answerer {
  readonly #outbox: Outbox<Answer>;
  readonly #methods: Readonly<Record<string, (arg: never) => Promise<unknown>>>;

  constructor(methods: Readonly<Record<string, (arg: never) => Promise<unknown>>>, post: (answers: Answer[]) => void) {
    this.#methods = methods;
    this.#outbox = new Outbox(post);
  }

  answer(calls: readonly Call[]): void {
    for (const c of calls) {
      // Own methods only: a name like `constructor` must not reach Object.prototype.
      const method = Object.hasOwn(this.#methods, c.method) ? this.#methods[c.method] : undefined;
      const run = method
        ? Promise.resolve().then(() => method(c.arg as never))
        : Promise.reject(new Error(`no method ${c.method}`));
      run.then(
        (value) => this.#outbox.push({ id: c.id, ok: true, value }),
        (e: unknown) => {
          const err = e instanceof Error ? e : new Error(String(e));
          this.#outbox.push({ id: c.id, ok: false, error: { name: err.name, message: err.message, stack: err.stack } });
        },
      );
    }
  }

  /** Sends the answers ready so far now (before a message that must follow them). */
  flush(): void {
    this.#outbox.flush();
  }
}
