// RFC 8693 token exchange to upstreams, end to end: the official SDK client → the gateway → a real
// MCP server over Streamable HTTP that is itself a resource server (it refuses any token not
// minted for its own URL). The authorization server in the test exchanges the agent's token for
// one naming the upstream as audience and the gateway as actor. Then the attacker's side: an
// issuer that refuses, echoes the agent's own token back, or mints for someone else; a caller
// with nothing to exchange; answers that are not bearer access tokens; nothing secret leaking.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Caller } from '../../../src/adapters/mcp-gateway/caller-identity.ts';
import { resolveGatewayConfig } from '../../../src/adapters/mcp-gateway/config.ts';
import {
  ACCESS_TOKEN_TYPE,
  CallerCredential,
  TokenExchanger,
  TokenExchangeFailed,
} from '../../../src/adapters/mcp-gateway/token-exchange.ts';
import { TrustedIssuer } from '../../../src/adapters/mcp-gateway/token-verifier.ts';
import { startAuthorizationServer, type TestAuthorizationServer } from './support/authorization-server.ts';
import { freePort, startTestGateway, type TestGateway } from './support/gateway-harness.ts';
import { type GuardedServer, startGuardedServer } from './support/guarded-server.ts';

const GATEWAY_CLIENT = { clientId: 'tether-gateway', clientSecret: 'gateway secret: with spaces & symbols' };
const STATIC_TOKEN = 'static-token-for-a-key-caller';

const policy = (issuer: string) => `
apiVersion: tether.dev/v1alpha1
kind: Agent
metadata: { name: scaler }
spec:
  owner: { id: olivia@example.com }
  authorityClass: autonomous
  identities: [{ kind: OIDC, issuer: "${issuer}", subject: scaler-bot }, { kind: MCPClient, clientId: keyed-bot }]
  boundary:
    namespaces: [shop]
    rules: [{ apiGroups: [mcp.tether.dev], resources: [tools], verbs: [get, call], clusterScope: true }]
`;

const text = (r: unknown) => (r as CallToolResult).content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

/** The tool's answer, or the error the call ended with: either way, what the agent learns. */
async function callWhoami(client: Client): Promise<{ ok: boolean; text: string }> {
  try {
    const r = (await client.callTool({ name: 'whoami', arguments: {} })) as CallToolResult;
    return { ok: !r.isError, text: text(r) };
  } catch (e) {
    return { ok: false, text: (e as Error).message };
  }
}

describe('token exchange to an upstream (RFC 8693), end to end', () => {
  let as: TestAuthorizationServer;
  let upstream: GuardedServer;
  let gw: TestGateway;
  let resource: string;
  const clients: Client[] = [];

  const agentToken = (jti: string) => as.mint({ sub: 'scaler-bot', aud: resource, jti });

  /** A client whose bearer token can be swapped between requests, as an agent renewing its token does. */
  async function connect(token: string): Promise<{ client: Client; headers: Record<string, string> }> {
    const headers = { authorization: `Bearer ${token}` };
    const client = new Client({ name: 'agent', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.url), { requestInit: { headers } }));
    clients.push(client);
    return { client, headers };
  }

  before(async () => {
    as = await startAuthorizationServer({ path: '/tenant-a/v2.0' });
    upstream = await startGuardedServer(as.issuer);
    const port = await freePort();
    resource = `http://127.0.0.1:${port}/mcp`;
    gw = await startTestGateway({
      port,
      policy: policy(as.issuer),
      gateway: {
        auth: {
          resource,
          oidc: [{ issuer: as.issuer, exchangeClient: GATEWAY_CLIENT }],
          keys: [{ clientId: 'keyed-bot', token: STATIC_TOKEN }],
        },
        servers: [{ name: 'guarded', http: { url: upstream.url, tokenExchange: { scope: 'tools:call' } } }],
      },
    });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await gw?.close();
    await upstream?.close();
    await as?.close();
  });

  test('the upstream sees a token minted for it (subject the agent, actor the gateway), never the agent’s own', async () => {
    const token = await agentToken('first');
    const { client } = await connect(token);
    assert.deepEqual(
      (await client.listTools()).tools.map((t) => t.name),
      ['whoami'],
    );
    const answer = await callWhoami(client);
    assert.ok(answer.ok, answer.text);
    assert.deepEqual(JSON.parse(answer.text), {
      sub: 'scaler-bot',
      act: { sub: GATEWAY_CLIENT.clientId },
      aud: upstream.url,
    });
    assert.equal(upstream.refused, 0);
    assert.ok(upstream.authorizations.length > 0);
    for (const a of upstream.authorizations) {
      assert.ok(a?.startsWith('Bearer '), 'every request to the upstream carries a token');
      assert.ok(!a?.includes(token), "the agent's own token never reaches the upstream");
    }
    const ex = as.exchanges.at(-1);
    assert.deepEqual(ex, {
      client: GATEWAY_CLIENT.clientId,
      resource: upstream.url,
      audience: null,
      scope: 'tools:call',
      subject: 'scaler-bot',
      subjectTokenType: ACCESS_TOKEN_TYPE,
    });
    const decision = (await gw.store.queryLedger({ kind: 'decision' })).at(-1);
    assert.equal(decision?.leaf.agent, 'scaler');
  });

  test('one exchange serves the session’s requests; a renewed agent token is exchanged anew', async () => {
    const first = await agentToken('renew-1');
    const { client, headers } = await connect(first);
    const before = as.exchanges.length;
    for (let i = 0; i < 3; i++) assert.ok((await callWhoami(client)).ok);
    assert.equal(as.exchanges.length, before, 'the token exchanged at connect is reused');
    headers.authorization = `Bearer ${await agentToken('renew-2')}`;
    assert.ok((await callWhoami(client)).ok);
    assert.equal(as.exchanges.length, before + 1, 'the renewed token was exchanged');
  });

  test('an issuer that refuses: the call fails closed, the upstream is not called, nothing secret is told', async () => {
    const token = await agentToken('refused');
    const seen = upstream.authorizations.length;
    as.exchangeAnswer = (form) => ({
      status: 400,
      body: JSON.stringify({ error: 'invalid_target', error_description: `no: ${form.get('subject_token')}` }),
    });
    try {
      const { client } = await connect(token);
      assert.deepEqual((await client.listTools()).tools, []);
      const answer = await callWhoami(client);
      assert.equal(answer.ok, false);
      assert.match(answer.text, /token exchange \(HTTP 400, invalid_target\)/);
      assert.ok(!answer.text.includes(token) && !answer.text.includes('no: '), 'the description is not echoed');
    } finally {
      as.exchangeAnswer = undefined;
    }
    assert.equal(upstream.authorizations.length, seen, 'the upstream was never called');
    const logs = gw.logs.join('\n');
    assert.ok(!logs.includes(token) && !logs.includes(GATEWAY_CLIENT.clientSecret), 'no token or secret in logs');
    const counted = await gw.mounted.metrics.registry.getSingleMetricAsString('tether_gateway_token_exchanges_total');
    assert.match(counted, /tether_gateway_token_exchanges_total\{outcome="refused"\} [1-9]/);
    assert.match(counted, /tether_gateway_token_exchanges_total\{outcome="issued"\} [1-9]/);
    assert.ok(!counted.includes(token));
  });

  test('an issuer that hands back the agent’s own token: refused, the upstream never sees it', async () => {
    const token = await agentToken('echoed');
    as.exchangeAnswer = (form, minted) => ({
      status: 200,
      body: JSON.stringify({ ...minted, access_token: form.get('subject_token') }),
    });
    try {
      const { client } = await connect(token);
      const answer = await callWhoami(client);
      assert.equal(answer.ok, false);
      assert.match(answer.text, /the agent's own token/);
    } finally {
      as.exchangeAnswer = undefined;
    }
    assert.ok(!upstream.authorizations.some((a) => a?.includes(token)));
  });

  test('a token the upstream refuses (minted for another audience) is dropped: the next call exchanges again', async () => {
    const token = await agentToken('wrong-audience');
    as.exchangeAnswer = (form, minted) => {
      void form;
      return { status: 200, body: JSON.stringify({ ...minted, access_token: `${minted.access_token}x` }) };
    };
    const refusedBefore = upstream.refused;
    let client: Client;
    try {
      client = (await connect(token)).client;
      assert.equal((await callWhoami(client)).ok, false);
    } finally {
      as.exchangeAnswer = undefined;
    }
    assert.ok(upstream.refused > refusedBefore, 'the upstream refused the bad token');
    const exchanges = as.exchanges.length;
    const answer = await callWhoami(client);
    assert.ok(answer.ok, answer.text);
    assert.ok(as.exchanges.length > exchanges, 'a fresh token was exchanged');
  });

  test('a caller with a static key has nothing to exchange: the upstream stays unreachable for it', async () => {
    const seen = upstream.authorizations.length;
    const client = await gw.connect(STATIC_TOKEN);
    const answer = await callWhoami(client);
    assert.equal(answer.ok, false);
    assert.match(answer.text, /no OAuth access token from an issuer: there is nothing to exchange/);
    assert.equal(upstream.authorizations.length, seen, 'never called, not even without a token');
    assert.ok(!gw.logs.join('\n').includes(STATIC_TOKEN));
  });
});

describe('TokenExchanger against a real authorization server', () => {
  let as: TestAuthorizationServer;
  let issuer: TrustedIssuer;
  const target = { resource: 'https://upstream.example.com/mcp' };

  const credential = async (jti: string, expiresAt?: number) => {
    const token = await as.mint({ sub: 'scaler-bot', aud: 'https://gateway.example.com/mcp', jti });
    const caller: Caller = {
      principal: `oidc:${as.issuer}\nscaler-bot`,
      subject: { username: 'scaler-bot', groups: [], oidc: { issuer: as.issuer, subject: 'scaler-bot' } },
      ...(expiresAt === undefined ? {} : { expiresAt }),
    };
    return { token, credential: new CallerCredential(caller, token) };
  };

  before(async () => {
    as = await startAuthorizationServer({ exchangedTtlS: 300 });
    const config = resolveGatewayConfig(
      {
        auth: {
          resource: 'https://gateway.example.com/mcp',
          oidc: [{ issuer: as.issuer, exchangeClient: GATEWAY_CLIENT }],
        },
        servers: [{ name: 'x', stdio: { command: 'x' } }],
      },
      'gw.yaml',
    );
    issuer = new TrustedIssuer(config.auth.oidc[0] as (typeof config.auth.oidc)[0]);
  });
  after(() => as?.close());

  test('cached until 30 s before expiry, one exchange for concurrent callers, then exchanged again', async () => {
    let now = Date.now();
    const exchanger = new TokenExchanger([issuer], () => now);
    const { credential: c } = await credential('cache');
    const before = as.exchanges.length;
    const tokens = await Promise.all(Array.from({ length: 5 }, () => exchanger.tokenFor(c, target)));
    assert.equal(new Set(tokens).size, 1);
    assert.equal(as.exchanges.length, before + 1);
    now += 269_000;
    assert.equal(await exchanger.tokenFor(c, target), tokens[0]);
    now += 2_000;
    await exchanger.tokenFor(c, target);
    assert.equal(as.exchanges.length, before + 2, 'exchanged again inside the last 30 s');
  });

  test("never kept beyond the agent's own token: its expiry caps the cache", async () => {
    let now = Date.now();
    const exchanger = new TokenExchanger([issuer], () => now);
    const { credential: c } = await credential('capped', now + 60_000);
    const before = as.exchanges.length;
    await exchanger.tokenFor(c, target);
    now += 31_000;
    await exchanger.tokenFor(c, target);
    assert.equal(as.exchanges.length, before + 2);
  });

  test('answers that are not a bearer access token for this exchange are refused, echoing only an error code', async () => {
    const exchanger = new TokenExchanger([issuer], Date.now);
    const huge = 'x'.repeat(70_000);
    const cases: [string, (f: URLSearchParams, m: Record<string, unknown>) => unknown, RegExp][] = [
      ['N_A token type', (_f, m) => ({ ...m, token_type: 'N_A' }), /not a bearer token/],
      ['no issued_token_type', (_f, m) => ({ ...m, issued_token_type: undefined }), /not an access token/],
      [
        'a refresh token',
        (_f, m) => ({ ...m, issued_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }),
        /not an access token/,
      ],
      ['no access_token', (_f, m) => ({ ...m, access_token: '' }), /holds no access_token/],
      ['expires_in as text', (_f, m) => ({ ...m, expires_in: '300' }), /invalid expires_in/],
      ['negative expires_in', (_f, m) => ({ ...m, expires_in: -1 }), /invalid expires_in/],
      ['the subject token back', (f, m) => ({ ...m, access_token: f.get('subject_token') }), /agent's own token/],
      ['a huge answer', (_f, m) => ({ ...m, padding: huge }), /more than 65536 bytes/],
    ];
    for (const [name, answer, why] of cases) {
      const { token, credential: c } = await credential(name);
      as.exchangeAnswer = (f, m) => ({ status: 200, body: JSON.stringify(answer(f, m)) });
      try {
        await assert.rejects(exchanger.tokenFor(c, target), (e: Error) => {
          assert.ok(e instanceof TokenExchangeFailed, name);
          assert.match(e.message, why, name);
          assert.ok(!e.message.includes(token), name);
          return true;
        });
      } finally {
        as.exchangeAnswer = undefined;
      }
    }
  });

  test('an error answer is told by its code only; a code that is not one is not echoed', async () => {
    const exchanger = new TokenExchanger([issuer], Date.now);
    const cases: [unknown, string][] = [
      [{ error: 'invalid_grant', error_description: 'secret stuff' }, 'invalid_grant'],
      [{ error: 'a "quoted"\ncode' }, 'no error code'],
      ['not json', 'no error code'],
    ];
    for (const [body, code] of cases) {
      const { credential: c } = await credential(`error-${code}`);
      as.exchangeAnswer = () => ({ status: 400, body: typeof body === 'string' ? body : JSON.stringify(body) });
      try {
        await assert.rejects(exchanger.tokenFor(c, target), (e: Error) => {
          assert.equal(e.message, `the issuer refused the token exchange (HTTP 400, ${code})`);
          return true;
        });
      } finally {
        as.exchangeAnswer = undefined;
      }
    }
  });

  test('a subject token the issuer did not mint is refused by it (invalid_grant), as is a wrong client secret', async () => {
    const foreign = await as.foreignKey();
    const forged = await as.mint({ sub: 'scaler-bot' }, { key: foreign });
    const caller: Caller = {
      principal: 'p',
      subject: { username: 'u', groups: [], oidc: { issuer: as.issuer, subject: 'scaler-bot' } },
    };
    await assert.rejects(
      new TokenExchanger([issuer], Date.now).tokenFor(new CallerCredential(caller, forged), target),
      /HTTP 400, invalid_grant/,
    );
    const wrongSecret = new TrustedIssuer({
      ...issuer.config,
      exchangeClient: { clientId: GATEWAY_CLIENT.clientId, clientSecret: 'guessed' },
    });
    const { credential: c } = await credential('wrong-secret');
    await assert.rejects(new TokenExchanger([wrongSecret], Date.now).tokenFor(c, target), /HTTP 401, invalid_client/);
  });

  test('a token endpoint on another scheme than the issuer’s is not used', async () => {
    const liar = await startAuthorizationServer({ metadataTokenEndpoint: 'ftp://127.0.0.1/token' });
    try {
      const config = { ...issuer.config, issuer: liar.issuer };
      const { credential: c } = await credential('ftp');
      const cred = new CallerCredential(
        { principal: 'p', subject: { username: 'u', groups: [], oidc: { issuer: liar.issuer, subject: 's' } } },
        c.token,
      );
      await assert.rejects(
        new TokenExchanger([new TrustedIssuer(config)], Date.now).tokenFor(cred, target),
        /names no usable token_endpoint/,
      );
    } finally {
      await liar.close();
    }
  });
});

describe('token exchange configuration', () => {
  const base = (server: Record<string, unknown>, exchangeClient: unknown = GATEWAY_CLIENT) => ({
    auth: {
      resource: 'https://gw.example.com/mcp',
      oidc: [{ issuer: 'https://login.example.com', ...(exchangeClient ? { exchangeClient } : {}) }],
    },
    servers: [{ name: 'up', ...server }],
  });
  const problems = (value: unknown) => {
    try {
      resolveGatewayConfig(value, 'gw.yaml');
      return '';
    } catch (e) {
      return (e as Error).message;
    }
  };

  test('resource defaults to the server URL; audience and scope pass through', () => {
    const c = resolveGatewayConfig(
      base({ http: { url: 'https://up.example.com/mcp', tokenExchange: { audience: 'up', scope: 'a b' } } }),
      'gw.yaml',
    );
    const t = c.servers[0]?.transport;
    assert.deepEqual(t?.kind === 'http' && t.tokenExchange, {
      audience: 'up',
      scope: 'a b',
      resource: 'https://up.example.com/mcp',
    });
  });

  test('refused: a shared upstream, a static Authorization header, plain http to a remote host, no exchange client', () => {
    const x = { tokenExchange: {} };
    assert.match(
      problems(base({ shared: true, http: { url: 'https://up.example.com/mcp', ...x } })),
      /servers\[0\]\.shared: one connection serves every agent/,
    );
    assert.match(
      problems(base({ http: { url: 'https://up.example.com/mcp', headers: { AuthoriZation: 'Bearer k' }, ...x } })),
      /servers\[0\]\.http\.headers: tokenExchange sets Authorization/,
    );
    assert.match(
      problems(base({ http: { url: 'http://up.example.com/mcp', ...x } })),
      /servers\[0\]\.http\.url: exchanged tokens go over https only/,
    );
    assert.match(
      problems(base({ http: { url: 'https://up.example.com/mcp', ...x } }, null)),
      /servers\[0\]\.http\.tokenExchange: no issuer in auth\.oidc has an exchangeClient/,
    );
    assert.match(
      problems(base({ stdio: { command: 'x' } }, { clientId: 'g' })),
      /auth\.oidc\[0\]\.exchangeClient: give exactly one of clientSecret, clientSecretFile/,
    );
    assert.match(
      problems(base({ stdio: { command: 'x' } }, { clientId: 'g', clientSecretFile: '/nonexistent/secret' })),
      /auth\.oidc\[0\]\.exchangeClient\.clientSecretFile: cannot read: ENOENT/,
    );
  });
});
