// RFC 8693 token exchange for upstream servers configured with `http.tokenExchange`: every request
// to such a server carries a token the caller's own issuer minted for that server (its `resource`,
// optionally `audience` and `scope`), in exchange for the agent's token, which never leaves the
// gateway. The gateway authenticates to the issuer's token endpoint (from its RFC 8414 metadata) as
// its own client (client_secret_basic). Tokens are cached per caller token and target until shortly
// before they expire; anything unexpected from the issuer fails the request, so an upstream is never
// called without an exchanged token, and never with the agent's own.
import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import type { Caller } from './caller-identity.ts';
import type { TokenExchangeTarget } from './config.ts';
import type { TrustedIssuer } from './token-verifier.ts';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const ISSUED_TYPES = new Set([ACCESS_TOKEN_TYPE, 'urn:ietf:params:oauth:token-type:jwt']);

const FETCH_TIMEOUT_MS = 5_000;
const MAX_RESPONSE_BYTES = 64 * 1024;
const CACHE_LIMIT = 10_000;
/** A token whose lifetime the issuer does not state (no expires_in, not a JWT) is kept this long. */
const UNSTATED_LIFETIME_MS = 5 * 60_000;
/** A token is exchanged again when this much of its life is left (or a quarter of it, when shorter). */
const REFRESH_MARGIN_MS = 30_000;
/** RFC 6749 §5.2: an error code is printable ASCII without `"` or `\`; anything else is not echoed. */
const ERROR_CODE = /^[\x20\x21\x23-\x5B\x5D-\x7E]{1,64}$/;

export class TokenExchangeFailed extends Error {
  override readonly name = 'TokenExchangeFailed';
}

/** The credential a session's caller presented last: what is exchanged. Updated on every request. */
export class CallerCredential {
  #issuer: string | undefined;
  #token: string | undefined;
  #expiresAt: number | undefined;

  constructor(caller: Caller, token: string | undefined) {
    this.presented(caller, token);
  }

  presented(caller: Caller, token: string | undefined): void {
    this.#issuer = caller.subject.oidc?.issuer;
    this.#token = caller.subject.oidc ? token : undefined;
    this.#expiresAt = caller.expiresAt;
  }

  get issuer(): string | undefined {
    return this.#issuer;
  }
  get token(): string | undefined {
    return this.#token;
  }
  get expiresAt(): number | undefined {
    return this.#expiresAt;
  }
}

interface Issued {
  readonly token: string;
  readonly refreshAt: number;
}

export class TokenExchanger {
  readonly #issuers: ReadonlyMap<string, TrustedIssuer>;
  readonly #clock: () => number;
  readonly #cache = new Map<string, Issued>();
  readonly #inflight = new Map<string, Promise<string>>();
  readonly #counted: (outcome: 'issued' | 'refused') => void;

  /** Only issuers with an exchangeClient can exchange. `counted` hears each exchange's outcome (metrics). */
  constructor(
    issuers: readonly TrustedIssuer[],
    clock: () => number,
    counted: (outcome: 'issued' | 'refused') => void = () => undefined,
  ) {
    this.#issuers = new Map(issuers.filter((i) => i.config.exchangeClient).map((i) => [i.config.issuer, i]));
    this.#clock = clock;
    this.#counted = counted;
  }

  /** A token for `target` in exchange for the caller's: cached, one exchange at a time per key. */
  tokenFor(credential: CallerCredential, target: TokenExchangeTarget): Promise<string> {
    const { issuer, token } = credential;
    if (issuer === undefined || token === undefined)
      return Promise.reject(
        new TokenExchangeFailed('the caller holds no OAuth access token from an issuer: there is nothing to exchange'),
      );
    const trusted = this.#issuers.get(issuer);
    if (!trusted) return Promise.reject(new TokenExchangeFailed(`issuer ${issuer} has no exchangeClient configured`));
    const key = cacheKey(issuer, token, target);
    const hit = this.#cache.get(key);
    if (hit && this.#clock() < hit.refreshAt) return Promise.resolve(hit.token);
    let pending = this.#inflight.get(key);
    if (!pending) {
      pending = this.#exchange(trusted, token, credential.expiresAt, target, key).then(
        (t) => {
          this.#counted('issued');
          return t;
        },
        (e: unknown) => {
          this.#counted('refused');
          throw e;
        },
      );
      pending.finally(() => this.#inflight.delete(key)).catch(() => undefined);
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  /** The upstream refused the token (401): the next request exchanges again. */
  forget(credential: CallerCredential, target: TokenExchangeTarget): void {
    const { issuer, token } = credential;
    if (issuer !== undefined && token !== undefined) this.#cache.delete(cacheKey(issuer, token, target));
  }

  async #exchange(
    issuer: TrustedIssuer,
    subjectToken: string,
    subjectExpiresAt: number | undefined,
    target: TokenExchangeTarget,
    key: string,
  ): Promise<string> {
    const now = this.#clock();
    const endpoint = await tokenEndpoint(issuer, now);
    const form = new URLSearchParams({
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: ACCESS_TOKEN_TYPE,
      resource: target.resource,
    });
    if (target.audience) form.set('audience', target.audience);
    if (target.scope) form.set('scope', target.scope);
    const client = issuer.config.exchangeClient as { clientId: string; clientSecret: string };
    const answer = await postForm(endpoint, form, client);
    const issued = issuedToken(answer, subjectToken);
    const lifetime = issued.expiresInMs ?? jwtLifetime(issued.token, now) ?? UNSTATED_LIFETIME_MS;
    const expiresAt = Math.min(now + lifetime, subjectExpiresAt ?? Number.POSITIVE_INFINITY);
    const refreshAt = expiresAt - Math.min(REFRESH_MARGIN_MS, lifetime / 4);
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.delete(this.#cache.keys().next().value as string);
    this.#cache.set(key, { token: issued.token, refreshAt });
    return issued.token;
  }
}

/** The cache is keyed by a digest: the agent's token is not kept as a key. */
function cacheKey(issuer: string, token: string, t: TokenExchangeTarget): string {
  return createHash('sha256')
    .update([issuer, token, t.resource, t.audience ?? '', t.scope ?? ''].join('\u0000'))
    .digest('base64');
}

async function tokenEndpoint(issuer: TrustedIssuer, now: number): Promise<URL> {
  let endpoint: unknown;
  try {
    endpoint = (await issuer.metadata(now)).token_endpoint;
  } catch (e) {
    throw new TokenExchangeFailed(`the issuer's metadata: ${(e as Error).message}`);
  }
  const url = typeof endpoint === 'string' && URL.canParse(endpoint) ? new URL(endpoint) : undefined;
  // Like the jwks_uri: https, or the issuer's own scheme (http only for a loopback issuer, see config).
  if (!url || (url.protocol !== 'https:' && url.protocol !== new URL(issuer.config.issuer).protocol))
    throw new TokenExchangeFailed(`issuer ${issuer.config.issuer} names no usable token_endpoint`);
  return url;
}

/** RFC 6749 §2.3.1: id and secret form-encoded, then HTTP Basic. */
function basic(client: { clientId: string; clientSecret: string }): string {
  const enc = (v: string) => new URLSearchParams([['', v]]).toString().slice(1);
  return `Basic ${Buffer.from(`${enc(client.clientId)}:${enc(client.clientSecret)}`).toString('base64')}`;
}

async function postForm(
  endpoint: URL,
  form: URLSearchParams,
  client: { clientId: string; clientSecret: string },
): Promise<{ status: number; body: unknown }> {
  let res: Response;
  try {
    res = await fetch(endpoint, {
      method: 'POST',
      redirect: 'error',
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      headers: { authorization: basic(client), accept: 'application/json' },
      body: form,
    });
  } catch (e) {
    throw new TokenExchangeFailed(`the token endpoint ${endpoint.origin} could not be reached (${(e as Error).name})`);
  }
  const text = await boundedText(res);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body };
}

async function boundedText(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw new TokenExchangeFailed(`the token endpoint answered more than ${MAX_RESPONSE_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The issued token, or why the answer is refused. Nothing the issuer sent is echoed but an error code. */
function issuedToken(
  answer: { status: number; body: unknown },
  subjectToken: string,
): { token: string; expiresInMs?: number } {
  const b = (typeof answer.body === 'object' && answer.body !== null ? answer.body : {}) as Record<string, unknown>;
  if (answer.status !== 200) {
    const code = typeof b.error === 'string' && ERROR_CODE.test(b.error) ? b.error : 'no error code';
    throw new TokenExchangeFailed(`the issuer refused the token exchange (HTTP ${answer.status}, ${code})`);
  }
  const refuse = (why: string) => new TokenExchangeFailed(`the issuer's token exchange answer ${why}`);
  if (typeof b.access_token !== 'string' || b.access_token === '') throw refuse('holds no access_token');
  if (typeof b.token_type !== 'string' || b.token_type.toLowerCase() !== 'bearer')
    throw refuse('is not a bearer token (token_type)');
  if (typeof b.issued_token_type !== 'string' || !ISSUED_TYPES.has(b.issued_token_type))
    throw refuse('is not an access token (issued_token_type)');
  if (b.access_token === subjectToken) throw refuse("is the agent's own token: it is never sent upstream");
  const e = b.expires_in;
  if (e !== undefined && (typeof e !== 'number' || !Number.isFinite(e) || e <= 0))
    throw refuse('has an invalid expires_in');
  return { token: b.access_token, ...(typeof e === 'number' ? { expiresInMs: e * 1000 } : {}) };
}

/** A JWT's remaining life from its (unverified) exp: only to know when to exchange again. */
function jwtLifetime(token: string, now: number): number | undefined {
  try {
    const exp = decodeJwt(token).exp;
    return typeof exp === 'number' && exp * 1000 > now ? exp * 1000 - now : undefined;
  } catch {
    return undefined;
  }
}

/** The fetch an upstream's transport uses: every request carries `token()`; a 401 makes `refused()` run. */
export function withBearer(token: () => Promise<string>, refused: () => void): typeof fetch {
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${await token()}`);
    const res = await fetch(input, { ...init, headers });
    if (res.status === 401) refused();
    return res;
  };
}
