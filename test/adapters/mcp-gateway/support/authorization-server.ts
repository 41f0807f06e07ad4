// A small, real OAuth 2.1 authorization server for tests, on 127.0.0.1: issuer metadata (RFC 8414,
// at the well-known URI with the issuer's path inserted), a JWKS, and a token endpoint for the
// client_credentials grant that mints the audience from the RFC 8707 `resource` parameter. Its
// signing key can be rotated (the JWKS then publishes only the new key), and it can mint tokens
// directly for attacker cases (other audiences, expired, foreign keys).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

export interface TestAuthorizationServer {
  readonly issuer: string;
  /** How often the JWKS was fetched. */
  readonly jwksFetches: number;
  /** Replaces the signing key: the JWKS then holds only the new one. */
  rotate(): Promise<void>;
  /** A token signed with the current key (or `key`), for `claims` over the defaults. */
  mint(claims: Record<string, unknown>, opts?: { key?: KeyPair; kid?: string }): Promise<string>;
  /** A key pair the server never published. */
  foreignKey(): Promise<KeyPair>;
  close(): Promise<void>;
}

const CLIENTS: Record<string, string> = { 'scaler-bot': 'scaler-secret', 'triage-bot': 'triage-secret' };

async function body(req: IncomingMessage): Promise<URLSearchParams> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return new URLSearchParams(text);
}

function basicClient(req: IncomingMessage): string | undefined {
  const m = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
  if (!m) return undefined;
  const [id, secret] = Buffer.from(m[1] as string, 'base64')
    .toString()
    .split(':')
    .map(decodeURIComponent);
  return id !== undefined && CLIENTS[id] !== undefined && CLIENTS[id] === secret ? id : undefined;
}

/** `path` makes an issuer with a path (like Entra's /<tenant>/v2.0); `metadataIssuer` lies about the issuer. */
export async function startAuthorizationServer(
  opts: { path?: string; metadataIssuer?: string; tokenTtlS?: number } = {},
): Promise<TestAuthorizationServer> {
  let key = await generateKeyPair('ES256');
  let kid = 'key-1';
  let generation = 1;
  let jwksFetches = 0;
  const path = opts.path ?? '';
  let issuer = '';
  const jwk = async (): Promise<JWK> => ({ ...(await exportJWK(key.publicKey)), kid, alg: 'ES256', use: 'sig' });
  const mint = (claims: Record<string, unknown>, o: { key?: KeyPair; kid?: string } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iat: now, exp: now + (opts.tokenTtlS ?? 600), iss: issuer, ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: o.kid ?? kid, typ: 'at+jwt' })
      .sign((o.key ?? key).privateKey);
  };
  const server: Server = createServer(async (req, res) => {
    const json = (status: number, doc: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
    const url = new URL(req.url ?? '/', issuer);
    if (req.method === 'GET' && url.pathname === `/.well-known/oauth-authorization-server${path}`) {
      return json(200, {
        issuer: opts.metadataIssuer ?? issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        grant_types_supported: ['client_credentials'],
        token_endpoint_auth_methods_supported: ['client_secret_basic'],
        response_types_supported: ['code'],
      });
    }
    if (req.method === 'GET' && url.pathname === `${path}/jwks`) {
      jwksFetches++;
      return json(200, { keys: [await jwk()] });
    }
    if (req.method === 'POST' && url.pathname === `${path}/token`) {
      const client = basicClient(req);
      const form = await body(req);
      if (!client) return json(401, { error: 'invalid_client' });
      if (form.get('grant_type') !== 'client_credentials') return json(400, { error: 'unsupported_grant_type' });
      const resource = form.get('resource');
      if (!resource)
        return json(400, { error: 'invalid_target', error_description: 'resource (RFC 8707) is required' });
      const token = await mint({ sub: client, client_id: client, aud: resource });
      return json(200, { access_token: token, token_type: 'Bearer', expires_in: opts.tokenTtlS ?? 600 });
    }
    return json(404, { error: 'not_found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  return {
    issuer,
    get jwksFetches() {
      return jwksFetches;
    },
    async rotate() {
      key = await generateKeyPair('ES256');
      kid = `key-${++generation}`;
    },
    mint,
    foreignKey: () => generateKeyPair('ES256'),
    close: () => new Promise((r) => server.close(() => r())),
  };
}
