// Sessions that last and sessions that end. A stream dropped during a long tool call (every TCP
// connection cut, as a load balancer's idle timeout does) is resumed by the official SDK client with
// Last-Event-ID and loses no message: every progress notification and the result arrive, and the
// call is recorded once. Idle sessions are reaped (their upstream processes with them), and the
// session and upstream-process caps refuse with a clear error and count it in a metric.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type CallToolResult, LATEST_PROTOCOL_VERSION, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { startCuttingProxy } from './support/cutting-proxy.ts';
import { startTestGateway, type TestGateway } from './support/gateway-harness.ts';
import { everythingOverStdio } from './support/upstreams.ts';

const TOKEN = 'session-token-0123456789';
const POLICY = `
apiVersion: tether.dev/v1alpha1
kind: Agent
metadata: { name: long-runner }
spec:
  owner: { id: olivia@example.com }
  authorityClass: autonomous
  identities: [{ kind: MCPClient, clientId: runner }]
  boundary:
    namespaces: [shop]
    rules: [{ apiGroups: [mcp.tether.dev], resources: [tools], verbs: [get, call], clusterScope: true }]
`;
const gatewayConfig = (limits: Record<string, unknown> = {}, server: Record<string, unknown> = {}) => ({
  limits,
  auth: { keys: [{ clientId: 'runner', token: TOKEN }] },
  servers: [{ ...everythingOverStdio(), ...server }],
});
const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
/** A JSON-RPC POST with the agent's token, as a client without the SDK sends it. */
const postRaw = (gw: TestGateway, body: object, headers: Record<string, string> = {}) =>
  fetch(gw.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${TOKEN}`,
      ...headers,
    },
    body: JSON.stringify(body),
  });
const openRaw = (gw: TestGateway) => postRaw(gw, initialize);
/** A request with no session: the SDK's stateless mode. */
const statelessCall = (gw: TestGateway, body: object) =>
  postRaw(gw, body, { 'mcp-protocol-version': LATEST_PROTOCOL_VERSION });

describe('sessions', () => {
  const gateways: TestGateway[] = [];
  after(async () => {
    for (const gw of gateways) await gw.close();
  });

  test('a stream cut during a long tool call is resumed with Last-Event-ID: every progress message and the result arrive', async (t) => {
    const gw = await startTestGateway({ policy: POLICY, gateway: gatewayConfig() });
    gateways.push(gw);
    const proxy = await startCuttingProxy(Number(new URL(gw.url).port));
    const client = new Client({ name: 'long-runner', version: '1' });
    const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${proxy.port}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${TOKEN}` } },
      reconnectionOptions: {
        initialReconnectionDelay: 200,
        maxReconnectionDelay: 1_000,
        reconnectionDelayGrowFactor: 1.5,
        maxRetries: 5,
      },
    });
    await client.connect(transport);
    t.after(async () => {
      await client.close().catch(() => undefined);
      await proxy.close();
    });
    const progress: number[] = [];
    let cuts = 0;
    const call = client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 3, steps: 6 } },
      undefined,
      {
        onprogress: (p: Progress) => {
          progress.push(p.progress);
          // Cut while the next steps are still to come: they are sent while no stream is there.
          if (p.progress === 1) cuts = proxy.cut();
        },
        timeout: 20_000,
      },
    );
    const result = (await call) as CallToolResult;
    assert.ok(cuts > 0, 'the stream was cut');
    assert.match(JSON.stringify(result.content), /Long running operation completed/);
    assert.deepEqual(progress, [1, 2, 3, 4, 5, 6]);
    await gw.mounted.close();
    const results = (await gw.store.queryLedger({ kind: 'tool-result' })).filter(
      (e) => (e.leaf as { tool?: { name?: string } }).tool?.name === 'trigger-long-running-operation',
    );
    assert.equal(results.length, 1);
  });

  test('the session cap refuses with 503 and a clear message, counted in the metrics', async () => {
    const gw = await startTestGateway({ policy: POLICY, gateway: gatewayConfig({ maxSessions: 2 }) });
    gateways.push(gw);
    for (let i = 0; i < 2; i++) {
      const res = await openRaw(gw);
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
    const refused = await openRaw(gw);
    assert.equal(refused.status, 503);
    assert.match(
      ((await refused.json()) as { error: { message: string } }).error.message,
      /limit of 2 sessions \(limits\.maxSessions\)/,
    );
    const metrics = await gw.mounted.metrics.registry.metrics();
    assert.match(metrics, /tether_gateway_refused_total\{cap="sessions"\} 1/);
    assert.match(metrics, /tether_gateway_sessions 2/);
    assert.match(metrics, /tether_gateway_upstream_processes 2/);
  });

  test('a stateless request counts against the session cap too: refused with the same 503 when it is full', async () => {
    const gw = await startTestGateway({ policy: POLICY, gateway: gatewayConfig({ maxSessions: 1 }, { shared: true }) });
    gateways.push(gw);
    const served = await statelessCall(gw, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
    assert.equal(served.status, 200);
    await served.body?.cancel();
    const open = await openRaw(gw);
    assert.equal(open.status, 200);
    await open.body?.cancel();
    const refused = await statelessCall(gw, { jsonrpc: '2.0', id: 2, method: 'tools/list' });
    assert.equal(refused.status, 503);
    assert.match(
      ((await refused.json()) as { error: { message: string } }).error.message,
      /limit of 1 sessions \(limits\.maxSessions\)/,
    );
    assert.match(await gw.mounted.metrics.registry.metrics(), /tether_gateway_refused_total\{cap="sessions"\} 1/);
  });

  test('the upstream process cap refuses a session that would need more processes', async () => {
    const gw = await startTestGateway({ policy: POLICY, gateway: gatewayConfig({ maxUpstreamProcesses: 1 }) });
    gateways.push(gw);
    const first = await openRaw(gw);
    assert.equal(first.status, 200);
    await first.body?.cancel();
    const refused = await openRaw(gw);
    assert.equal(refused.status, 503);
    assert.match(
      ((await refused.json()) as { error: { message: string } }).error.message,
      /limit of 1 upstream processes \(limits\.maxUpstreamProcesses\)/,
    );
    assert.match(
      await gw.mounted.metrics.registry.metrics(),
      /tether_gateway_refused_total\{cap="upstream-processes"\} 1/,
    );
  });

  test('a shared upstream serves every session from one process, which outlives the sessions', async () => {
    const gw = await startTestGateway({
      policy: POLICY,
      gateway: gatewayConfig({ maxUpstreamProcesses: 1 }, { shared: true }),
    });
    gateways.push(gw);
    const agents = await Promise.all([1, 2, 3].map(() => gw.connect(TOKEN)));
    assert.equal(gw.mounted.sessions, 3);
    assert.equal(gw.mounted.upstreamProcesses, 1);
    const answers = await Promise.all(
      agents.map((c, i) => c.callTool({ name: 'echo', arguments: { message: `agent ${i}` } })),
    );
    assert.deepEqual(
      answers.map((r) => (r as CallToolResult).content[0]),
      [0, 1, 2].map((i) => ({ type: 'text', text: `Echo: agent ${i}` })),
    );
    // Each call was decided on its own, though one process served them all.
    assert.equal(
      (await gw.store.queryLedger({ kind: 'decision' })).filter(
        (e) => (e.leaf as { tool?: { name?: string } }).tool?.name === 'echo',
      ).length,
      3,
    );
    await agents[0]?.close();
    const deadline = Date.now() + 5_000;
    while (gw.mounted.sessions > 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(gw.mounted.upstreamProcesses, 1);
    assert.match(
      JSON.stringify((await agents[1]?.callTool({ name: 'echo', arguments: { message: 'still here' } }))?.content),
      /still here/,
    );
  });

  test("stateless requests (the SDK's stateless mode) are served and governed when every upstream is shared; refused otherwise", async () => {
    const gw = await startTestGateway({ policy: POLICY, gateway: gatewayConfig({}, { shared: true }) });
    gateways.push(gw);
    const list = await statelessCall(gw, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
    assert.equal(list.status, 200);
    assert.equal(list.headers.get('mcp-session-id'), null);
    assert.ok(
      ((await list.json()) as { result: { tools: { name: string }[] } }).result.tools.some((t) => t.name === 'echo'),
    );
    const call = await statelessCall(gw, {
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'echo', arguments: { message: 'no session' } },
    });
    assert.equal(call.status, 200);
    assert.match(JSON.stringify(await call.json()), /Echo: no session/);
    const decisions = (await gw.store.queryLedger({ kind: 'decision' })).filter(
      (e) => (e.leaf as { tool?: { name?: string } }).tool?.name === 'echo',
    );
    assert.equal(decisions.length, 1);
    assert.equal(gw.mounted.sessions, 0);
    assert.equal(gw.mounted.upstreamProcesses, 1);
    const perSession = await startTestGateway({ policy: POLICY, gateway: gatewayConfig() });
    gateways.push(perSession);
    const refused = await statelessCall(perSession, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
    assert.equal(refused.status, 400);
    assert.match(
      ((await refused.json()) as { error: { message: string } }).error.message,
      /only when every upstream is shared or over HTTP/,
    );
    assert.equal(perSession.mounted.upstreamProcesses, 0);
  });

  test('idle sessions are reaped with their upstream processes, and the slots serve new sessions', async () => {
    const gw = await startTestGateway({
      policy: POLICY,
      gateway: gatewayConfig({ sessionIdleTimeout: '2s', maxUpstreamProcesses: 2 }),
    });
    gateways.push(gw);
    for (let i = 0; i < 2; i++) {
      const res = await openRaw(gw);
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
    assert.equal(gw.mounted.sessions, 2);
    assert.equal(gw.mounted.upstreamProcesses, 2);
    const deadline = Date.now() + 15_000;
    while ((gw.mounted.sessions > 0 || gw.mounted.upstreamProcesses > 0) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    assert.equal(gw.mounted.sessions, 0);
    assert.equal(gw.mounted.upstreamProcesses, 0);
    assert.match(await gw.mounted.metrics.registry.metrics(), /tether_gateway_sessions_reaped_total 2/);
    const again = await openRaw(gw);
    assert.equal(again.status, 200);
    await again.body?.cancel();
  });
});
