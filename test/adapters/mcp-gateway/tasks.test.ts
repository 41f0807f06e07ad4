// A task-based tool through the gateway, end to end with the official SDK client: server-everything's
// simulate-research-query (it requires tasks) is listed, its task-creating call is decided and
// recorded before it goes out, the agent polls and fetches the result through the gateway, and the
// result is recorded. Refused: an agent whose boundary does not allow the tool gets an error and
// no task is created; another agent cannot see, await or cancel a task it did not create.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startTestGateway, type TestGateway } from './support/gateway-harness.ts';
import { everythingOverStdio } from './support/upstreams.ts';

const TOKENS = { researcher: 'researcher-token-0123456789', reader: 'reader-token-0123456789' };
const agent = (name: string, clientId: string, verbs: string) => `
apiVersion: tether.dev/v1alpha1
kind: Agent
metadata: { name: ${name} }
spec:
  owner: { id: olivia@example.com }
  authorityClass: autonomous
  identities: [{ kind: MCPClient, clientId: ${clientId} }]
  boundary:
    namespaces: [shop]
    rules: [{ apiGroups: [mcp.tether.dev], resources: [tools], verbs: [${verbs}], clusterScope: true }]
`;
const TOOL = 'simulate-research-query';
const toolOf = (leaf: unknown) => (leaf as { tool?: { name?: string } }).tool?.name;

async function runTask(
  stream: AsyncGenerator<{ type: string; task?: { taskId: string }; result?: unknown; error?: unknown }>,
) {
  const seen: string[] = [];
  let taskId: string | undefined;
  let result: CallToolResult | undefined;
  let error: unknown;
  for await (const m of stream) {
    seen.push(m.type);
    if (m.type === 'taskCreated') taskId = m.task?.taskId;
    if (m.type === 'result') result = m.result as CallToolResult;
    if (m.type === 'error') error = m.error;
  }
  return { seen, taskId, result, error };
}

describe('tasks through the gateway', () => {
  let gw: TestGateway;

  before(async () => {
    gw = await startTestGateway({
      policy: [agent('researcher', 'researcher', 'get, call'), agent('reader', 'reader', 'get')].join('---\n'),
      gateway: {
        auth: { keys: Object.entries(TOKENS).map(([clientId, token]) => ({ clientId, token })) },
        servers: [everythingOverStdio()],
      },
    });
  });
  after(async () => gw?.close());

  test('a task-based tool is listed, its call governed and recorded, and its result fetched through the gateway', {
    timeout: 60_000,
  }, async () => {
    const client = await gw.connect(TOKENS.researcher);
    assert.ok(client.getServerCapabilities()?.tasks, 'the gateway offers tasks');
    const listed = (await client.listTools()).tools.find((t) => t.name === TOOL);
    assert.equal((listed?.execution as { taskSupport?: string } | undefined)?.taskSupport, 'required');
    const run = await runTask(
      client.experimental.tasks.callToolStream(
        { name: TOOL, arguments: { topic: 'governed agents', intent: 'research for ticket OPS-7' } },
        CallToolResultSchema,
        {
          task: { ttl: 60_000 },
        },
      ),
    );
    assert.equal(run.error, undefined);
    assert.equal(run.seen[0], 'taskCreated');
    assert.ok(run.taskId);
    assert.match(JSON.stringify(run.result?.content), /governed agents/);
    await new Promise((r) => setTimeout(r, 100));
    const decisions = (await gw.store.queryLedger({ kind: 'decision' })).filter((e) => toolOf(e.leaf) === TOOL);
    assert.equal(decisions.length, 1);
    assert.equal((decisions[0]?.leaf as { decision?: string } | undefined)?.decision, 'allow');
    await gw.mounted.close();
    const results = (await gw.store.queryLedger({ kind: 'tool-result' })).filter((e) => toolOf(e.leaf) === TOOL);
    assert.equal(results.length, 1);
    assert.equal((results[0]?.leaf as { detail?: { status?: string } } | undefined)?.detail?.status, 'ok');
  });
});

describe('tasks through the gateway: refusals', () => {
  let gw: TestGateway;

  before(async () => {
    gw = await startTestGateway({
      policy: [agent('researcher', 'researcher', 'get, call'), agent('reader', 'reader', 'get')].join('---\n'),
      gateway: {
        auth: { keys: Object.entries(TOKENS).map(([clientId, token]) => ({ clientId, token })) },
        servers: [everythingOverStdio()],
      },
    });
  });
  after(async () => gw?.close());

  test('a task call outside the boundary is refused before any task exists', { timeout: 60_000 }, async () => {
    const reader = await gw.connect(TOKENS.reader);
    const run = await runTask(
      reader.experimental.tasks.callToolStream(
        { name: TOOL, arguments: { topic: 'x', intent: 'research for ticket OPS-9' } },
        CallToolResultSchema,
        { task: { ttl: 60_000 } },
      ),
    );
    assert.ok(run.error, 'refused');
    assert.equal(run.taskId, undefined);
    assert.match(String((run.error as Error).message), /Tether/);
    const decision = (await gw.store.queryLedger({ kind: 'decision' })).filter((e) => toolOf(e.leaf) === TOOL).at(-1);
    assert.equal((decision?.leaf as { decision?: string } | undefined)?.decision, 'deny');
  });

  test('another agent cannot see, await or cancel a task it did not create', { timeout: 60_000 }, async () => {
    const owner = await gw.connect(TOKENS.researcher);
    const stream = owner.experimental.tasks.callToolStream(
      { name: TOOL, arguments: { topic: 'mine', intent: 'research for ticket OPS-8' } },
      CallToolResultSchema,
      {
        task: { ttl: 60_000 },
      },
    );
    const first = await stream.next();
    const taskId = (first.value as { task?: { taskId: string } }).task?.taskId as string;
    assert.ok(taskId);
    const stranger = await gw.connect(TOKENS.researcher, { name: 'same agent, other session' });
    await assert.rejects(stranger.experimental.tasks.getTask(taskId), /Task not found/);
    await assert.rejects(stranger.experimental.tasks.cancelTask(taskId), /Task not found/);
    await assert.rejects(stranger.experimental.tasks.getTaskResult(taskId, CallToolResultSchema), /Task not found/);
    assert.deepEqual((await stranger.experimental.tasks.listTasks()).tasks, []);
    assert.deepEqual(
      (await owner.experimental.tasks.listTasks()).tasks.map((t) => t.taskId),
      [taskId],
    );
    for await (const _ of stream) {
      // drain: the owner's task runs to its end
    }
  });
});
