// An MCP server over Streamable HTTP (the SDK's, stateless) that is itself an OAuth resource
// server: every request must carry a bearer token its issuer minted for this server's URL
// (checked with jose against the issuer's JWKS), or it gets 401 and never reaches MCP. It keeps
// every Authorization header it was sent, so a test can show which tokens reached it. Its tool
// `whoami` answers with the subject and actor of the token that carried the call.
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';

export interface GuardedServer {
  readonly url: string;
  /** Every Authorization header sent, accepted or not, in order. */
  readonly authorizations: (string | undefined)[];
  /** Requests refused with 401. */
  readonly refused: number;
  close(): Promise<void>;
}

function mcpServer(claims: JWTPayload): Server {
  const server = new Server({ name: 'guarded', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [
      {
        name: 'whoami',
        description: 'Who the token says is calling',
        inputSchema: { type: 'object' },
        annotations: { readOnlyHint: true },
      },
    ],
  }));
  server.setRequestHandler(CallToolRequestSchema, async () => ({
    content: [{ type: 'text', text: JSON.stringify({ sub: claims.sub, act: claims.act, aud: claims.aud }) }],
  }));
  return server;
}

export async function startGuardedServer(issuer: string): Promise<GuardedServer> {
  const keys = createRemoteJWKSet(new URL(`${issuer}/jwks`));
  const authorizations: (string | undefined)[] = [];
  let refused = 0;
  let url = '';
  const http: HttpServer = createServer(async (req, res) => {
    authorizations.push(req.headers.authorization);
    let claims: JWTPayload;
    try {
      const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      claims = (await jwtVerify(token, keys, { issuer, audience: url })).payload;
    } catch {
      refused++;
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      return;
    }
    let body = '';
    for await (const chunk of req) body += chunk;
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    const server = mcpServer(claims);
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body === '' ? undefined : JSON.parse(body));
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  return {
    url,
    authorizations,
    get refused() {
      return refused;
    },
    close: () =>
      new Promise((r) => {
        http.closeAllConnections();
        http.close(() => r());
      }),
  };
}
