// The gateway as an OAuth 2.1 resource server, end to end with the official SDK client: a real
// authorization server runs in the test (issuer metadata with a path, JWKS, client_credentials
// token endpoint honouring RFC 8707 `resource`). The client finds everything itself from the 401
// (WWW-Authenticate resource_metadata → RFC 9728 metadata → RFC 8414 issuer metadata → token for
// this resource). Then the attacker's tokens: another audience, expired beyond the skew, signed by
// a key the issuer never published or rotated away, an issuer whose metadata names someone else.
// Last, DNS rebinding: a foreign Host or Origin is refused before authentication.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type CallToolResult, LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { startAuthorizationServer, type TestAuthorizationServer } from './support/authorization-server.ts';
import { freePort, startTestGateway, type TestGateway } from './support/gateway-harness.ts';
import { everythingOverStdio } from './support/upstreams.ts';

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

const text = (r: unknown) => (r as CallToolResult).content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

describe('OAuth resource server', () => {
  let as: TestAuthorizationServer;
  let liar: TestAuthorizationServer;
  let flooded: TestAuthorizationServer;
  let gw: TestGateway;
  let resource: string;
  const clients: Client[] = [];

  const post = (headers: Record<string, string>, url = gw.url) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify(initialize),
    });

  async function oauthClient(clientId: string, secret: string): Promise<Client> {
    const provider = new ClientCredentialsProvider({ clientId, clientSecret: secret, expectedIssuer: as.issuer });
    const client = new Client({ name: clientId, version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.url), { authProvider: provider }));
    clients.push(client);
    return client;
  }

  /** node:http, because fetch will not send a Host header of our choosing. */
  const postWithHost = (host: string, token: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const u = new URL(gw.url);
      const req = request(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: 'POST',
          headers: {
            host,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            authorization: `Bearer ${token}`,
          },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.once('error', reject);
      req.end(JSON.stringify(initialize));
    });

  async function lastAgent(): Promise<string | undefined> {
    await new Promise((r) => setTimeout(r, 50));
    return (await gw.store.queryLedger({ kind: 'decision' })).at(-1)?.leaf.agent as string | undefined;
  }

  before(async () => {
    as = await startAuthorizationServer({ path: '/tenant-a/v2.0' });
    liar = await startAuthorizationServer({ metadataIssuer: 'https://someone-else.example.com' });
    flooded = await startAuthorizationServer({ path: '/flooded' });
    const port = await freePort();
    resource = `http://127.0.0.1:${port}/mcp`;
    gw = await startTestGateway({
      port,
      policy: [
        agent('scaler', `{ kind: OIDC, issuer: "${as.issuer}", subject: scaler-bot }`),
        agent('triage', '{ kind: MCPClient, clientId: triage-bot }'),
      ].join('---\n'),
      gateway: {
        auth: {
          resource,
          scopesSupported: ['mcp'],
          oidc: [
            { issuer: as.issuer, clientIdClaim: 'client_id', jwksRefreshCooldown: '0s', clockSkew: '60s' },
            { issuer: liar.issuer, audiences: [resource] },
            { issuer: flooded.issuer },
          ],
        },
        servers: [everythingOverStdio()],
      },
    });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await gw?.close();
    await as?.close();
    await liar?.close();
    await flooded?.close();
  });

  test('a 401 points at the Protected Resource Metadata, served at the path-suffixed and the root well-known URI', async () => {
    const res = await post({});
    assert.equal(res.status, 401);
    const metadataUrl = `${new URL(resource).origin}/.well-known/oauth-protected-resource/mcp`;
    assert.equal(
      res.headers.get('www-authenticate'),
      `Bearer realm="tether-gateway", resource_metadata="${metadataUrl}"`,
    );
    for (const url of [metadataUrl, `${new URL(resource).origin}/.well-known/oauth-protected-resource`]) {
      const doc = (await (await fetch(url)).json()) as Record<string, unknown>;
      assert.equal(doc.resource, resource);
      assert.deepEqual(doc.authorization_servers, [as.issuer, liar.issuer, flooded.issuer]);
      assert.deepEqual(doc.bearer_methods_supported, ['header']);
      assert.deepEqual(doc.scopes_supported, ['mcp']);
    }
  });

  test('the SDK client discovers the authorization server, gets a token for this resource and is known by issuer + subject', async () => {
    const client = await oauthClient('scaler-bot', 'scaler-secret');
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { message: 'via oauth' } })), 'Echo: via oauth');
    assert.equal(await lastAgent(), 'scaler');
  });

  test('or by its client id claim, mapped to an MCPClient identity', async () => {
    const client = await oauthClient('triage-bot', 'triage-secret');
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { message: 'client id' } })), 'Echo: client id');
    assert.equal(await lastAgent(), 'triage');
  });

  test('after the issuer rotates its key, new tokens are accepted and tokens of the old key are not', async () => {
    const oldKeyToken = await as.mint({ sub: 'scaler-bot', aud: resource, jti: 'old' });
    const fetchesBefore = as.jwksFetches;
    await as.rotate();
    const client = await oauthClient('scaler-bot', 'scaler-secret');
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { message: 'rotated' } })), 'Echo: rotated');
    assert.ok(as.jwksFetches > fetchesBefore, 'the JWKS was fetched again for the new key id');
    const res = await post({ authorization: `Bearer ${oldKeyToken}` });
    assert.equal(res.status, 401);
    assert.match(
      res.headers.get('www-authenticate') ?? '',
      /error="invalid_token", error_description="no key of the issuer's JWKS matches the token"/,
    );
  });

  test("attacker tokens are refused with invalid_token: another resource's, expired beyond the skew, a key never published, a lying kid", async () => {
    const now = Math.floor(Date.now() / 1000);
    const foreign = await as.foreignKey();
    const cases: [string, RegExp][] = [
      [await as.mint({ sub: 'scaler-bot', aud: 'http://127.0.0.1:1/mcp' }), /not issued for this resource/],
      [await as.mint({ sub: 'scaler-bot', aud: [resource.replace('/mcp', '/other')] }), /not issued for this resource/],
      [await as.mint({ sub: 'scaler-bot', aud: resource, exp: now - 120 }), /the token expired/],
      [await as.mint({ sub: 'scaler-bot', aud: resource, nbf: now + 600 }), /not valid yet/],
      [await as.mint({ sub: 'scaler-bot', aud: resource }, { key: foreign }), /bad signature/],
      [
        await as.mint({ sub: 'scaler-bot', aud: resource }, { key: foreign, kid: 'made-up' }),
        /no key of the issuer's JWKS/,
      ],
      [await as.mint({ aud: resource }), /names no subject/],
    ];
    for (const [token, why] of cases) {
      const res = await post({ authorization: `Bearer ${token}` });
      assert.equal(res.status, 401, String(why));
      assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
      assert.match(((await res.json()) as { error: { message: string } }).error.message, why);
    }
  });

  test('tokens naming made-up key ids cannot make the gateway hammer the issuer: one JWKS fetch per cooldown', async () => {
    const good = await flooded.mint({ sub: 'scaler-bot', aud: resource });
    assert.equal((await post({ authorization: `Bearer ${good}` })).status, 200);
    const fetches = flooded.jwksFetches;
    const foreign = await flooded.foreignKey();
    for (let i = 0; i < 20; i++) {
      const res = await post({
        authorization: `Bearer ${await flooded.mint({ sub: 'scaler-bot', aud: resource, jti: `f${i}` }, { key: foreign, kid: `made-up-${i}` })}`,
      });
      assert.equal(res.status, 401);
    }
    assert.ok(
      flooded.jwksFetches - fetches <= 1,
      `${flooded.jwksFetches - fetches} JWKS fetches for 20 made-up key ids`,
    );
  });

  test('clock skew is bounded: a token expired 30 s ago passes with 60 s of skew', async () => {
    const now = Math.floor(Date.now() / 1000);
    const res = await post({
      authorization: `Bearer ${await as.mint({ sub: 'scaler-bot', aud: resource, exp: now - 30 })}`,
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  });

  test('an issuer whose metadata names another issuer is not trusted: its tokens get 503, never a session', async () => {
    const res = await post({ authorization: `Bearer ${await liar.mint({ sub: 'scaler-bot', aud: resource })}` });
    assert.equal(res.status, 503);
    assert.match(
      ((await res.json()) as { error: { message: string } }).error.message,
      /names issuer "https:\/\/someone-else.example.com"/,
    );
  });

  describe('DNS rebinding', () => {
    test('a foreign Origin or Host is refused with 403 before authentication', async () => {
      const token = await as.mint({ sub: 'scaler-bot', aud: resource });
      for (const headers of [
        { origin: 'http://evil.example.com' },
        { origin: 'null' },
        { origin: `http://evil.example.com:${new URL(resource).port}` },
      ]) {
        const res = await post({ authorization: `Bearer ${token}`, ...headers });
        assert.equal(res.status, 403, JSON.stringify(headers));
        assert.match(((await res.json()) as { error: { message: string } }).error.message, /^Forbidden: Origin /);
      }
      for (const host of [
        `evil.example.com:${new URL(resource).port}`,
        'evil.example.com',
        `127.0.0.1.evil.example.com:${new URL(resource).port}`,
      ]) {
        const res = await postWithHost(host, token);
        assert.equal(res.status, 403, host);
        assert.match((JSON.parse(res.body) as { error: { message: string } }).error.message, /^Forbidden: Host /);
      }
    });

    test('the same origin and loopback names are allowed', async () => {
      const token = await as.mint({ sub: 'scaler-bot', aud: resource });
      const res = await post({ authorization: `Bearer ${token}`, origin: new URL(resource).origin });
      assert.equal(res.status, 200);
      await res.body?.cancel();
      for (const host of [`localhost:${new URL(resource).port}`, `[::1]:${new URL(resource).port}`])
        assert.equal((await postWithHost(host, token)).status, 200, host);
    });
  });
});
