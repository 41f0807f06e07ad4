// Chains across agent → tool → agent hops: two Tether-governed agents that are each other's MCP
// servers behind one gateway (one gateway, two identities), a loop between them stopped, and a
// chain deeper than an agent's limit refused.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type AgentServer, startAgentServer } from './support/agent-server.ts';
import { startTestGateway, type TestGateway } from './support/gateway-harness.ts';
import { everythingOverStdio } from './support/upstreams.ts';

const TOKENS = { a: 'agent-a-token-0123456789', b: 'agent-b-token-0123456789', deep: 'deep-token-0123456789' };

const agent = (name: string, clientId: string, chain: string) => `
apiVersion: tether.dev/v1alpha1
kind: Agent
metadata: { name: ${name} }
spec:
  owner: { id: olivia@example.com }
  authorityClass: autonomous
  identities: [{ kind: MCPClient, clientId: ${clientId} }]
  boundary:
    namespaces: [shop]
    rules: [{ apiGroups: [mcp.tether.dev], resources: [tools], verbs: [get, call], clusterScope: true }]
    chain: ${chain}
`;

const POLICY = [
  agent('agent-a', 'a', '{ maxDepth: 5, mayInvoke: [agent-b] }'),
  agent('agent-b', 'b', '{ maxDepth: 5, mayInvoke: [agent-a] }'),
  agent('deep-bot', 'deep', '{ maxDepth: 1 }'),
].join('---\n');

const text = (r: unknown) => (r as CallToolResult).content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

describe('chains through the gateway', () => {
  let gw: TestGateway;
  let a: AgentServer;
  let b: AgentServer;

  before(async () => {
    let url = '';
    // A's server acts as A and asks B; B's server acts as B and asks A: a loop.
    a = await startAgentServer({ name: 'agent-a', gatewayUrl: () => url, token: TOKENS.a, nextTool: 'b_ask' });
    b = await startAgentServer({ name: 'agent-b', gatewayUrl: () => url, token: TOKENS.b, nextTool: 'a_ask' });
    gw = await startTestGateway({
      policy: POLICY,
      gateway: {
        auth: { keys: Object.entries(TOKENS).map(([clientId, token]) => ({ clientId, token })) },
        servers: [
          { name: 'agent-a', http: { url: a.url }, toolPrefix: 'a_' },
          { name: 'agent-b', http: { url: b.url }, toolPrefix: 'b_' },
          everythingOverStdio(),
        ],
      },
    });
    url = gw.url;
  });

  after(async () => {
    await gw?.close();
    await a?.close();
    await b?.close();
  });

  test('a loop between two agents is stopped where it closes, and the refusal travels back to the origin', async () => {
    const client = await gw.connect(TOKENS.a);
    const r = await client.callTool({ name: 'b_ask', arguments: { intent: 'ask agent-b about the outage' } });
    assert.equal(r.isError, true);
    assert.match(text(r), /agent-b asked a_ask: agent-a asked b_ask: Tether refused this call to b_ask/);
    assert.match(
      text(r),
      /agent-a already appears in this chain \(agent-a → agent-b → agent-a\): a loop between agents is refused\. \[chain\/cycle\]/,
    );

    // Each hop went one deeper with the calling agent appended.
    assert.deepEqual(
      b.seenChains.map((c) => ({ depth: (c as { depth: number }).depth, path: (c as { path: string[] }).path })),
      [{ depth: 1, path: ['agent-a'] }],
    );
    assert.deepEqual(
      a.seenChains.map((c) => ({ depth: (c as { depth: number }).depth, path: (c as { path: string[] }).path })),
      [{ depth: 2, path: ['agent-a', 'agent-b'] }],
    );
    const chainIds = new Set([...a.seenChains, ...b.seenChains].map((c) => (c as { id: string }).id));
    assert.equal(chainIds.size, 1, 'one chain id end to end');

    await new Promise((r) => setTimeout(r, 100));
    const refused = (await gw.store.queryLedger({ agent: 'agent-a' })).find(
      (e) => e.leaf.kind === 'decision' && e.leaf.decision === 'deny',
    );
    assert.ok(refused, 'the refusal is in the ledger');
    assert.deepEqual(refused.leaf.rules, ['chain/cycle']);
    assert.equal(refused.leaf.chain?.depth, 2);
    assert.equal(refused.leaf.chain?.id, [...chainIds][0]);
  });

  test('a chain deeper than the agent’s limit is refused with the limit named', async () => {
    const client = await gw.connect(TOKENS.deep);
    const r = await client.callTool({
      name: 'echo',
      arguments: { message: 'hi' },
      _meta: { 'tether.dev/chain': { id: 'chain-deep', depth: 2, path: ['agent-a', 'agent-b'] } },
    });
    assert.equal(r.isError, true);
    assert.match(
      text(r),
      /deep-bot was reached at chain depth 2 \(via agent-a → agent-b\), deeper than its limit of 1.*\[chain\/depth\]/,
    );
  });

  test('the same call at an allowed depth goes through, and the W3C carriers alone are enough', async () => {
    const client = await gw.connect(TOKENS.deep);
    const r = await client.callTool({
      name: 'echo',
      arguments: { message: 'hi' },
      _meta: {
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        baggage: 'tether.chain.id=c9,tether.chain.depth=0',
      },
    });
    assert.equal(r.isError, undefined);
    assert.equal(text(r), 'Echo: hi');
  });
});
