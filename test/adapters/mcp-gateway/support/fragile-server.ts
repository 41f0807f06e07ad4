// A stdio MCP server for tests whose `crash` tool kills the process in the middle of the call,
// as an upstream that dies mid-call does.
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const server = new Server({ name: 'fragile', version: '1.0.0' }, { capabilities: { tools: {} } });
const readOnly = { readOnlyHint: true };
server.setRequestHandler(ListToolsRequestSchema, async () => ({
  tools: [
    { name: 'still-here', inputSchema: { type: 'object' }, annotations: readOnly },
    { name: 'crash', inputSchema: { type: 'object' }, annotations: readOnly },
  ],
}));
server.setRequestHandler(CallToolRequestSchema, async (req) => {
  if (req.params.name === 'crash') {
    setTimeout(() => process.exit(3), 50);
    return new Promise(() => undefined);
  }
  return { content: [{ type: 'text', text: `still here (pid ${process.pid})` }] };
});
await server.connect(new StdioServerTransport());
