// A small, real OAuth 2.1 authorization server for tests, on 127.0.0.1: issuer metadata (RFC 8414,
// at the well-known URI with the issuer's path inserted), a JWKS, and a token endpoint for the
// client_credentials grant that mints the audience from the RFC 8707 `resource` parameter. Its
// signing key can be rotated (the JWKS then publishes only the new key), and it can mint tokens
// directly for attacker cases (other audiences, expired, foreign keys). It also does RFC 8693 token
// exchange for its confidential clients: a token it minted (the subject) for a token naming the
// same subject, the requested `resource` as audience and the exchanging client as actor (`act`);
// `exchangeAnswer` replaces that answer for attacker cases (an issuer that misbehaves).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWK, jwtVerify, SignJWT } from 'jose';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

/** One token exchange the server saw: who asked, for what, on whose behalf. */
export interface SeenExchange {
  readonly client: string;
  readonly resource: string | null;
  readonly audience: string | null;
  readonly scope: string | null;
  readonly subject: string;
  readonly subjectTokenType: string | null;
}

export type ExchangeAnswer = (
  form: URLSearchParams,
  minted: { access_token: string; issued_token_type: string; token_type: string; expires_in: number },
) => { status: number; body: string } | undefined;

export interface TestAuthorizationServer {
  readonly issuer: string;
  /** Every token exchange asked for, in order. */
  readonly exchanges: SeenExchange[];
  /** Replaces the exchange answer (undefined: the real one); for an issuer that misbehaves. */
  exchangeAnswer: ExchangeAnswer | undefined;
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

const CLIENTS: Record<string, string> = {
  'scaler-bot': 'scaler-secret',
  'triage-bot': 'triage-secret',
  'tether-gateway': 'gateway secret: with spaces & symbols',
};
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

async function body(req: IncomingMessage): Promise<URLSearchParams> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return new URLSearchParams(text);
}

function basicClient(req: IncomingMessage): string | undefined {
  const m = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
  if (!m) return undefined;
  // RFC 6749 §2.3.1: each part is form-encoded (a space may come as '+').
  const decoded = Buffer.from(m[1] as string, 'base64').toString();
  const colon = decoded.indexOf(':');
  const [id, secret] = [decoded.slice(0, colon), decoded.slice(colon + 1)].map(
    (part) => new URLSearchParams(`v=${part}`).get('v') as string,
  );
  return id !== undefined && CLIENTS[id] !== undefined && CLIENTS[id] === secret ? id : undefined;
}

/** `path` makes an issuer with a path (like Entra's /<tenant>/v2.0); `metadataIssuer` lies about the issuer. */
export async function startAuthorizationServer(
  opts: {
    path?: string;
    metadataIssuer?: string;
    tokenTtlS?: number;
    exchangedTtlS?: number;
    /** What the metadata names as token_endpoint, instead of the real one. */
    metadataTokenEndpoint?: string;
  } = {},
): Promise<TestAuthorizationServer> {
  const exchanges: SeenExchange[] = [];
  let exchangeAnswer: ExchangeAnswer | undefined;
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
  /** RFC 8693: the subject token must be one this server signed with its current key, unexpired. */
  const exchange = async (client: string, form: URLSearchParams): Promise<{ status: number; body: string }> => {
    const refuse = (error: string) => ({ status: 400, body: JSON.stringify({ error }) });
    let subject: string;
    try {
      const keys = createLocalJWKSet({ keys: [await jwk()] });
      const { payload } = await jwtVerify(form.get('subject_token') ?? '', keys, { issuer });
      subject = String(payload.sub);
    } catch {
      return refuse('invalid_grant');
    }
    const seen = {
      client,
      resource: form.get('resource'),
      audience: form.get('audience'),
      scope: form.get('scope'),
      subject,
      subjectTokenType: form.get('subject_token_type'),
    };
    exchanges.push(seen);
    if (seen.subjectTokenType !== ACCESS_TOKEN) return refuse('invalid_request');
    if (!seen.resource) return refuse('invalid_target');
    const ttl = opts.exchangedTtlS ?? 300;
    const claims = {
      sub: subject,
      aud: seen.resource,
      act: { sub: client },
      ...(seen.scope ? { scope: seen.scope } : {}),
    };
    const minted = {
      access_token: await mint({ ...claims, exp: Math.floor(Date.now() / 1000) + ttl }),
      issued_token_type: ACCESS_TOKEN,
      token_type: 'Bearer',
      expires_in: ttl,
    };
    return exchangeAnswer?.(form, minted) ?? { status: 200, body: JSON.stringify(minted) };
  };
  const server: Server = createServer(async (req, res) => {
    const json = (status: number, doc: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
    const url = new URL(req.url ?? '/', issuer);
    if (req.method === 'GET' && url.pathname === `/.well-known/oauth-authorization-server${path}`) {
      return json(200, {
        issuer: opts.metadataIssuer ?? issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: opts.metadataTokenEndpoint ?? `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        grant_types_supported: ['client_credentials', TOKEN_EXCHANGE],
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
      if (form.get('grant_type') === TOKEN_EXCHANGE) {
        const answer = await exchange(client, form);
        return res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
      }
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
    exchanges,
    get exchangeAnswer() {
      return exchangeAnswer;
    },
    set exchangeAnswer(a: ExchangeAnswer | undefined) {
      exchangeAnswer = a;
    },
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
