// A Tether-governed agent that is itself an MCP server: its `ask` tool makes the agent call
// another tool through the gateway, carrying the chain it was called with (as a real agent's
// MCP client would propagate trace context). Used to show a loop between two agents being stopped.
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, type CallToolResult, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const CHAIN_CARRIERS = ['traceparent', 'baggage', 'tether.dev/chain'];

export interface AgentServer {
  readonly url: string;
  /** Every chain this agent was called with, in order. */
  readonly seenChains: unknown[];
  close(): Promise<void>;
}

export async function startAgentServer(opts: {
  name: string;
  gatewayUrl: () => string;
  token: string;
  nextTool: string;
}): Promise<AgentServer> {
  const seenChains: unknown[] = [];
  const handle = async (meta: Record<string, unknown> | undefined): Promise<CallToolResult> => {
    seenChains.push(meta?.['tether.dev/chain']);
    const client = new Client({ name: opts.name, version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(opts.gatewayUrl()), {
        requestInit: { headers: { authorization: `Bearer ${opts.token}` } },
      }),
    );
    try {
      const carried = Object.fromEntries(
        CHAIN_CARRIERS.filter((k) => meta?.[k] !== undefined).map((k) => [k, meta?.[k]]),
      );
      const inner = (await client.callTool({
        name: opts.nextTool,
        arguments: {},
        _meta: { ...carried, 'tether.dev/intent': { summary: `${opts.name} passes the question on` } },
      })) as CallToolResult;
      const text = inner.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
      return {
        isError: inner.isError,
        content: [{ type: 'text', text: `${opts.name} asked ${opts.nextTool}: ${text}` }],
      };
    } finally {
      await client.close();
    }
  };
  const http: HttpServer = createServer(async (req, res) => {
    const server = new Server({ name: opts.name, version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: [{ name: 'ask', description: `ask ${opts.name}`, inputSchema: { type: 'object' } }],
    }));
    server.setRequestHandler(CallToolRequestSchema, async (r) =>
      handle(r.params._meta as Record<string, unknown> | undefined),
    );
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => void server.close());
    await server.connect(transport);
    let body = '';
    req.setEncoding('utf8');
    for await (const chunk of req) body += chunk;
    await transport.handleRequest(req, res, body ? JSON.parse(body) : undefined);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    seenChains,
    close: () => new Promise<void>((r) => http.close(() => r())),
  };
}
