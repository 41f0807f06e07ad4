// Who may talk to the gateway (static keys, OIDC JWTs incl. Entra-style `oid`), and what it does
// with bad input: missing or bad credentials, malformed JSON-RPC, unknown or foreign sessions,
// oversized messages, the wrong content type, and an upstream that dies mid-call. Each gets a
// proper HTTP status and JSON-RPC error, and the gateway keeps serving everyone else. Last, the
// stdio mode through the `tether gateway` command function.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type CallToolResult, LATEST_PROTOCOL_VERSION, McpError } from '@modelcontextprotocol/sdk/types.js';
import { createTestIssuer, type TestIssuer } from './support/jwt-issuer.ts';
import { startTestGateway, type TestGateway, tempDir } from './support/gateway-harness.ts';
import { everythingOverStdio } from './support/upstreams.ts';

const TOKENS = { op: 'op-token-0123456789', other: 'other-token-0123456789' };
const ISSUER = 'https://login.microsoftonline.com/00000000-0000-0000-0000-00000000cafe/v2.0';
const AUDIENCE = 'api://tether-gateway';
const ENTRA_OID = '8d1f2c3e-0000-4000-8000-00000000beef';
const fragileServer = fileURLToPath(new URL('./support/fragile-server.ts', import.meta.url));

const agent = (name: string, identity: string) => `
apiVersion: tether.dev/v1alpha1
kind: Agent
metadata: { name: ${name} }
spec:
  owner: { id: olivia@example.com }
  authorityClass: autonomous
  identities: [${identity}]
  boundary:
    namespaces: [shop]
    rules: [{ apiGroups: [mcp.tether.dev], resources: [tools], verbs: [get, call], clusterScope: true }]
`;
const POLICY = [
  agent('op-bot', '{ kind: MCPClient, clientId: op }'),
  agent('other-bot', '{ kind: MCPClient, clientId: other }'),
  agent('entra-bot', `{ kind: OIDC, issuer: "${ISSUER}", subject: "${ENTRA_OID}" }`),
  agent('oidc-bot', `{ kind: OIDC, issuer: "${ISSUER}", subject: "plain-subject" }`),
].join('---\n');

const text = (r: unknown) => (r as CallToolResult).content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
const now = () => Math.floor(Date.now() / 1000);
const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

describe('callers and bad input', () => {
  let gw: TestGateway;
  let issuer: TestIssuer;

  const post = (body: string | object, headers: Record<string, string> = {}) =>
    fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  const rawSession = async (token: string) => {
    const res = await post(initialize, bearer(token));
    assert.equal(res.status, 200);
    await res.text();
    const id = res.headers.get('mcp-session-id');
    assert.ok(id);
    return id;
  };

  before(async () => {
    const dir = tempDir('callers');
    issuer = createTestIssuer(ISSUER, join(dir, 'jwks.json'));
    gw = await startTestGateway({
      dir,
      policy: POLICY,
      gateway: {
        limits: { maxMessageBytes: 65_536 },
        auth: {
          keys: Object.entries(TOKENS).map(([clientId, token]) => ({ clientId, token })),
          oidc: [{ issuer: ISSUER, audiences: [AUDIENCE], jwksFile: 'jwks.json' }],
        },
        servers: [
          everythingOverStdio(),
          { name: 'fragile', stdio: { command: process.execPath, args: [fragileServer] } },
        ],
      },
    });
  });
  after(async () => gw?.close());

  describe('who is calling', () => {
    test('no token, or an unknown one: HTTP 401 with a JSON-RPC error, before any MCP', async () => {
      for (const headers of [{}, bearer('who-knows-0123456789'), { authorization: 'Basic b3A6b3A=' }] as Record<
        string,
        string
      >[]) {
        const res = await post(initialize, headers);
        assert.equal(res.status, 401);
        // RFC 6750 §3.1: no error code when no bearer token came at all.
        const challenge = headers.authorization?.startsWith('Bearer')
          ? /^Bearer realm="tether-gateway", error="invalid_token", error_description="/
          : /^Bearer realm="tether-gateway"$/;
        assert.match(res.headers.get('www-authenticate') ?? '', challenge);
        const body = (await res.json()) as { error: { code: number; message: string }; id: null };
        assert.equal(body.error.code, -32003);
        assert.match(body.error.message, /^Unauthorized: /);
      }
      const client = new Client({ name: 'stranger', version: '1' });
      await assert.rejects(
        client.connect(
          new StreamableHTTPClientTransport(new URL(gw.url), {
            requestInit: { headers: bearer('who-knows-0123456789') },
          }),
        ),
      );
    });

    test('an Entra-style ES256 token is verified (jose) against the JWKS file and its oid names the agent', async () => {
      const token = issuer.token({
        iss: ISSUER,
        aud: AUDIENCE,
        sub: 'pairwise-sub-ignored',
        oid: ENTRA_OID,
        exp: now() + 600,
        nbf: now() - 5,
        groups: ['ai-agents'],
      });
      const client = await gw.connect(token);
      const r = await client.callTool({ name: 'echo', arguments: { message: 'from entra' } });
      assert.equal(text(r), 'Echo: from entra');
      await new Promise((res) => setTimeout(res, 100));
      const last = (await gw.store.queryLedger({ kind: 'decision' })).at(-1);
      assert.equal(last?.leaf.agent, 'entra-bot');
    });

    test('an RS256 token without oid is known by its sub', async () => {
      const token = issuer.token(
        { iss: ISSUER, aud: [AUDIENCE, 'other'], sub: 'plain-subject', exp: now() + 600 },
        { alg: 'RS256' },
      );
      const r = await (await gw.connect(token)).callTool({ name: 'echo', arguments: { message: 'rsa' } });
      assert.equal(text(r), 'Echo: rsa');
      await new Promise((res) => setTimeout(res, 100));
      assert.equal((await gw.store.queryLedger({ kind: 'decision' })).at(-1)?.leaf.agent, 'oidc-bot');
    });

    test('expired, premature, foreign-audience, foreign-issuer, unsigned and tampered tokens are refused, saying why', async () => {
      const good = { iss: ISSUER, aud: AUDIENCE, oid: ENTRA_OID, exp: now() + 600 };
      const cases: [string, RegExp][] = [
        [issuer.token({ ...good, exp: now() - 3600 }), /the token expired/],
        [issuer.token({ ...good, nbf: now() + 3600 }), /not valid yet/],
        [issuer.token({ ...good, aud: 'api://someone-else' }), /not issued for this resource \(audience\)/],
        [
          issuer.token({ ...good, iss: 'https://evil.example.com' }),
          /tokens from issuer "https:\/\/evil.example.com" are not accepted/,
        ],
        [issuer.token(good, { alg: 'HS256' }), /algorithm is not accepted/],
        [issuer.token(good, { alg: 'none' }), /unknown token/],
        [`${issuer.token(good).slice(0, -6)}AAAAAA`, /bad signature/],
        [issuer.token(good, { kid: 'rotated-away' }), /no key of the issuer's JWKS matches the token/],
      ];
      for (const [token, why] of cases) {
        const res = await post(initialize, bearer(token));
        assert.equal(res.status, 401, String(why));
        assert.match(((await res.json()) as { error: { message: string } }).error.message, why);
      }
    });

    test('a session belongs to the caller that opened it: another caller’s request is answered like an unknown session', async () => {
      const id = await rawSession(TOKENS.op);
      const res = await post(
        { jsonrpc: '2.0', id: 2, method: 'tools/list' },
        { ...bearer(TOKENS.other), 'mcp-session-id': id, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION },
      );
      assert.equal(res.status, 404);
      assert.deepEqual(await res.json(), {
        jsonrpc: '2.0',
        error: { code: -32001, message: 'Session not found' },
        id: null,
      });
    });
  });

  describe('bad input', () => {
    test('malformed JSON: 400 with a JSON-RPC parse error', async () => {
      const res = await post('{"jsonrpc": "2.0", "method": ', bearer(TOKENS.op));
      assert.equal(res.status, 400);
      const body = (await res.json()) as { error: { code: number; message: string } };
      assert.equal(body.error.code, -32700);
      assert.match(body.error.message, /^Parse error/);
    });

    test('JSON that is not JSON-RPC, in a live session: 400 from the MCP transport, and the session lives on', async () => {
      const id = await rawSession(TOKENS.op);
      const headers = { ...bearer(TOKENS.op), 'mcp-session-id': id, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION };
      const res = await post({ hello: 'world' }, headers);
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { error: { code: number } }).error.code, -32700);
      const ok = await post({ jsonrpc: '2.0', id: 3, method: 'ping' }, headers);
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /"result":\{\}/);
    });

    test('an unknown session: 404 with a JSON-RPC error; no session at all and not initialize: 400', async () => {
      const unknown = await post(
        { jsonrpc: '2.0', id: 2, method: 'tools/list' },
        { ...bearer(TOKENS.op), 'mcp-session-id': 'no-such-session' },
      );
      assert.equal(unknown.status, 404);
      assert.equal(((await unknown.json()) as { error: { code: number } }).error.code, -32001);
      const none = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, bearer(TOKENS.op));
      assert.equal(none.status, 400);
      assert.match(((await none.json()) as { error: { message: string } }).error.message, /send initialize first/);
    });

    test('an oversized message: 413 with a JSON-RPC error naming the limit; the same session then works', async () => {
      const client = await gw.connect(TOKENS.op);
      const id = await rawSession(TOKENS.op);
      const huge = {
        jsonrpc: '2.0',
        id: 9,
        method: 'tools/call',
        params: { name: 'echo', arguments: { message: 'x'.repeat(100_000) } },
      };
      const res = await post(huge, {
        ...bearer(TOKENS.op),
        'mcp-session-id': id,
        'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
      });
      assert.equal(res.status, 413);
      const body = (await res.json()) as { error: { code: number; message: string } };
      assert.equal(body.error.code, -32004);
      assert.match(body.error.message, /larger than the gateway's limit of 65536 bytes/);
      await assert.rejects(client.callTool({ name: 'echo', arguments: { message: 'x'.repeat(100_000) } }));
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { message: 'small' } })), 'Echo: small');
    });

    test('attacker: arguments nested 9,000 deep are a 400 parse error, not a crash; the session lives on', async () => {
      const id = await rawSession(TOKENS.op);
      const headers = { ...bearer(TOKENS.op), 'mcp-session-id': id, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION };
      const deep = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi","deep":${'['.repeat(9000)}${']'.repeat(9000)}}}}`;
      const res = await post(deep, headers);
      assert.equal(res.status, 400);
      const body = (await res.json()) as { error: { code: number; message: string } };
      assert.equal(body.error.code, -32700);
      assert.match(body.error.message, /nests deeper than 512 levels/);
      const ok = await post({ jsonrpc: '2.0', id: 8, method: 'ping' }, headers);
      assert.equal(ok.status, 200);
    });

    test('the wrong content type: 415', async () => {
      const res = await fetch(gw.url, {
        method: 'POST',
        headers: { ...bearer(TOKENS.op), 'content-type': 'text/plain', accept: 'application/json, text/event-stream' },
        body: 'hi',
      });
      assert.equal(res.status, 415);
      assert.equal(((await res.json()) as { error: { code: number } }).error.code, -32600);
    });

    test('an unknown tool is a JSON-RPC error, not a tool result', async () => {
      const client = await gw.connect(TOKENS.op);
      await assert.rejects(
        client.callTool({ name: 'no-such-tool', arguments: {} }),
        (e: unknown) => e instanceof McpError && e.code === -32602 && /Unknown tool: no-such-tool/.test(e.message),
      );
    });

    test('an upstream that dies mid-call: that call gets a JSON-RPC error, others are served, and the next call reconnects', async () => {
      const victim = await gw.connect(TOKENS.op);
      const bystander = await gw.connect(TOKENS.other);
      const before = text(await victim.callTool({ name: 'still-here', arguments: {} }));
      const crash = victim.callTool({ name: 'crash', arguments: {} });
      const meanwhile = bystander.callTool({ name: 'echo', arguments: { message: 'unaffected' } });
      await assert.rejects(
        crash,
        (e: unknown) =>
          e instanceof McpError &&
          e.code === -32000 &&
          /upstream fragile: the connection closed before it answered/.test(e.message),
      );
      assert.equal(text(await meanwhile), 'Echo: unaffected');
      assert.equal(
        text(await victim.callTool({ name: 'echo', arguments: { message: 'same session' } })),
        'Echo: same session',
      );
      const after = text(await victim.callTool({ name: 'still-here', arguments: {} }));
      assert.match(after, /still here \(pid \d+\)/);
      assert.notEqual(after, before, 'a new upstream process');
      await new Promise((r) => setTimeout(r, 100));
      const crashed = (await gw.store.queryLedger({ kind: 'tool-result', agent: 'op-bot' })).find(
        (e) => e.leaf.tool?.name === 'crash',
      );
      assert.equal(crashed?.leaf.detail?.status, 'protocol-error');
    });
  });
});

describe('stdio mode (tether gateway --stdio)', () => {
  const runner = fileURLToPath(new URL('./support/run-gateway-cli.ts', import.meta.url));
  let dir: string;
  before(() => {
    dir = tempDir('stdio');
    writeFileSync(join(dir, 'policy.yaml'), agent('op-bot', '{ kind: MCPClient, clientId: op }'));
    const [server] = [everythingOverStdio()] as [{ stdio: { command: string; args: string[] } }];
    writeFileSync(
      join(dir, 'gateway.yaml'),
      `auth:\n  keys: [{ clientId: op, token: ${TOKENS.op} }]\nstdio: { tokenEnv: AGENT_TOKEN }\nservers:\n  - name: everything\n    stdio: { command: ${JSON.stringify(server.stdio.command)}, args: ${JSON.stringify(server.stdio.args)} }\n`,
    );
  });

  const spawnArgs = () => [
    runner,
    '--stdio',
    '--config',
    join(dir, 'gateway.yaml'),
    '--policy',
    join(dir, 'policy.yaml'),
    '--store',
    `sqlite:${join(dir, 'tether.db')}`,
  ];

  test('a local agent speaks MCP over stdio, as the identity of its token', async () => {
    const client = new Client({ name: 'local-agent', version: '1' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: spawnArgs(),
        env: { ...process.env, AGENT_TOKEN: TOKENS.op } as Record<string, string>,
        stderr: 'pipe',
      }),
    );
    try {
      assert.ok((await client.listTools()).tools.some((t) => t.name === 'echo'));
      assert.equal(
        text(await client.callTool({ name: 'echo', arguments: { message: 'over stdio' } })),
        'Echo: over stdio',
      );
      const refused = await client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
      assert.match(text(refused), /\[intent\/missing\]/);
    } finally {
      await client.close();
    }
  });

  test('an unknown token refuses to start', async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, spawnArgs(), {
      env: { ...process.env, AGENT_TOKEN: 'nobody-0123456789' },
      encoding: 'utf8',
      input: '',
      timeout: 30_000,
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /the stdio agent's token was refused: unknown token/);
  });
});
