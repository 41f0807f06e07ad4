// A real MCP server (the official SDK's McpServer over Streamable HTTP, one per session) with the
// tools the conformance suite's tools-call-* scenarios call, written from the scenarios'
// stated requirements: text, image, audio, embedded resource, mixed content, logging during a
// call, an error result, progress and sampling. server-everything has none of them by these
// names, so without this the suite could only exercise tool calls by accident. (Elicitation is not
// here: the suite's client never answered this fixture's request; everything.test.ts covers the
// gateway relaying elicitation with server-everything and the SDK client.)
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as McpServer } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
  type ServerNotification,
} from '@modelcontextprotocol/sdk/types.js';

// 1×1 red PNG, and a WAV header with no samples.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
const WAV = 'UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA=';
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const text = (t: string): CallToolResult => ({ content: [{ type: 'text', text: t }] });
const noArgs = { type: 'object' as const, properties: {} };
const oneString = (name: string) => ({
  type: 'object' as const,
  properties: { [name]: { type: 'string' } },
  required: [name],
});

type Call = (
  args: Record<string, unknown>,
  ctx: {
    server: McpServer;
    progressToken?: string | number;
    notify: (n: ServerNotification) => Promise<void>;
    related: { relatedRequestId: string | number };
  },
) => Promise<CallToolResult>;

const TOOLS: Record<string, { inputSchema: ReturnType<typeof oneString> | typeof noArgs; call: Call }> = {
  test_simple_text: { inputSchema: noArgs, call: async () => text('This is a simple text response for testing.') },
  test_image_content: {
    inputSchema: noArgs,
    call: async () => ({ content: [{ type: 'image', data: PNG, mimeType: 'image/png' }] }),
  },
  test_audio_content: {
    inputSchema: noArgs,
    call: async () => ({ content: [{ type: 'audio', data: WAV, mimeType: 'audio/wav' }] }),
  },
  test_embedded_resource: {
    inputSchema: noArgs,
    call: async () => ({
      content: [
        {
          type: 'resource',
          resource: {
            uri: 'test://embedded-resource',
            mimeType: 'text/plain',
            text: 'This is an embedded resource content.',
          },
        },
      ],
    }),
  },
  test_multiple_content_types: {
    inputSchema: noArgs,
    call: async () => ({
      content: [
        { type: 'text', text: 'Multiple content types test:' },
        { type: 'image', data: PNG, mimeType: 'image/png' },
        {
          type: 'resource',
          resource: {
            uri: 'test://mixed-content-resource',
            mimeType: 'application/json',
            text: '{"test":"data","value":123}',
          },
        },
      ],
    }),
  },
  test_tool_with_logging: {
    inputSchema: noArgs,
    call: async (_args, { server }) => {
      for (const [i, data] of [
        'Tool execution started',
        'Tool processing data',
        'Tool execution completed',
      ].entries()) {
        if (i > 0) await wait(50);
        await server.sendLoggingMessage({ level: 'info', data });
      }
      return text('Tool with logging executed successfully');
    },
  },
  test_error_handling: {
    inputSchema: noArgs,
    call: async () => ({
      isError: true,
      content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }],
    }),
  },
  test_tool_with_progress: {
    inputSchema: noArgs,
    call: async (_args, { progressToken, notify }) => {
      for (const progress of [0, 50, 100]) {
        if (progress > 0) await wait(50);
        if (progressToken !== undefined)
          await notify({ method: 'notifications/progress', params: { progressToken, progress, total: 100 } });
      }
      return text('Tool with progress executed successfully');
    },
  },
  test_sampling: {
    inputSchema: oneString('prompt'),
    call: async (args, { server, related }) => {
      // On the call's own stream: a client need not hold a standalone GET stream open.
      const r = await server.createMessage(
        { messages: [{ role: 'user', content: { type: 'text', text: String(args.prompt) } }], maxTokens: 100 },
        related,
      );
      return text(`LLM response: ${r.content.type === 'text' ? r.content.text : JSON.stringify(r.content)}`);
    },
  },
};

function toolsServer(): McpServer {
  const server = new McpServer(
    { name: 'conformance-tools', version: '1.0.0' },
    { capabilities: { tools: {}, logging: {} } },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: Object.entries(TOOLS).map(([name, t]) => ({
      name,
      description: name.replaceAll('_', ' '),
      inputSchema: t.inputSchema,
    })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    const tool = TOOLS[req.params.name];
    if (!tool) return { isError: true, content: [{ type: 'text', text: `Unknown tool: ${req.params.name}` }] };
    return tool.call(req.params.arguments ?? {}, {
      server,
      progressToken: req.params._meta?.progressToken,
      notify: (n) => extra.sendNotification(n),
      related: { relatedRequestId: extra.requestId },
    });
  });
  return server;
}

export async function startConformanceToolsServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const http: Server = createServer(async (req, res) => {
    const id = req.headers['mcp-session-id'];
    let transport = typeof id === 'string' ? sessions.get(id) : undefined;
    if (!transport) {
      if (id !== undefined)
        return void res
          .writeHead(404, { 'content-type': 'application/json' })
          .end('{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}');
      const t: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (sid) => void sessions.set(sid, t),
      });
      t.onclose = () => {
        if (t.sessionId) sessions.delete(t.sessionId);
      };
      await toolsServer().connect(t);
      transport = t;
    }
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    async close() {
      await Promise.all([...sessions.values()].map((t) => t.close().catch(() => undefined)));
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
