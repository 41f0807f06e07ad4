// Tasks (task-based tool calls) relayed between an agent and the upstreams that offer them. The
// `tools/call` that creates a task is governed like any call (decided and durably recorded before
// it goes out; a refusal or a pending approval is answered as an error, since it creates no task);
// afterwards the agent may only get, await, cancel and list the tasks it created itself, routed to
// the upstream that holds each. The task's result is recorded when the agent fetches it.
import {
  type CallToolResult,
  ErrorCode,
  type Result,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import type { CallRecord } from './tool-call-record.ts';
import { ProtocolError } from './protocol-errors.ts';
import type { UpstreamLink } from './upstream-link.ts';

interface OwnTask {
  readonly link: UpstreamLink;
  readonly record: CallRecord;
  readonly started: number;
  /** The result was fetched and recorded: later fetches are relayed, not recorded again. */
  recorded: boolean;
}

/** Tasks a session remembers; the oldest are forgotten first (upstreams expire them by their ttl anyway). */
const MAX_TASKS_PER_SESSION = 1_000;

/** Task methods an agent may send, each naming one task (tasks/list names none). */
export const TASK_METHODS = new Set(['tasks/get', 'tasks/result', 'tasks/cancel', 'tasks/list']);

export function offersToolTasks(capabilities: ServerCapabilities): boolean {
  return (
    (capabilities as { tasks?: { requests?: { tools?: { call?: unknown } } } }).tasks?.requests?.tools?.call !==
    undefined
  );
}

/** What the gateway offers agents when some upstream runs tool calls as tasks. */
export const TASK_CAPABILITY = { list: {}, cancel: {}, requests: { tools: { call: {} } } };

/** The agent's refusal answer as an error: a task-augmented call must return a task or fail. */
export function refusalAsError(result: CallToolResult): ProtocolError {
  const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
  return new ProtocolError(ErrorCode.InvalidRequest, text || 'refused by Tether');
}

export class TaskRelay {
  readonly #tasks = new Map<string, OwnTask>();

  created(result: Result, link: UpstreamLink, record: CallRecord, started: number): void {
    const taskId = (result as { task?: { taskId?: unknown } }).task?.taskId;
    if (typeof taskId !== 'string')
      throw new ProtocolError(
        ErrorCode.InternalError,
        `upstream ${link.name} answered a task-augmented call without a task`,
      );
    this.#tasks.set(taskId, { link, record, started, recorded: false });
    if (this.#tasks.size > MAX_TASKS_PER_SESSION) this.#tasks.delete(this.#tasks.keys().next().value as string);
  }

  /** The agent's own task; any other id is answered as unknown, whoever holds it. */
  own(params: Record<string, unknown>): OwnTask {
    const taskId = params.taskId;
    const task = typeof taskId === 'string' ? this.#tasks.get(taskId) : undefined;
    if (!task) throw new ProtocolError(ErrorCode.InvalidParams, `Task not found: ${String(taskId)}`);
    return task;
  }

  /** The upstreams' task lists, down to this agent's tasks. */
  async list(links: readonly UpstreamLink[], send: (link: UpstreamLink) => Promise<Result>): Promise<Result> {
    const holders = [...new Set([...this.#tasks.values()].map((t) => t.link))].filter((l) => links.includes(l));
    const pages = await Promise.all(holders.map((l) => send(l).catch(() => ({ tasks: [] }))));
    const tasks = pages.flatMap((p) =>
      ((p as { tasks?: { taskId?: string }[] }).tasks ?? []).filter(
        (t) => typeof t.taskId === 'string' && this.#tasks.has(t.taskId),
      ),
    );
    return { tasks };
  }
}
