// Who is calling: a bearer token is either a configured static key (→ an MCP client id) or an OIDC
// JWT from a configured issuer (→ issuer + subject, Entra's `oid` preferred over `sub` because `sub`
// is pairwise per application). Anything else is refused before MCP begins.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Subject } from '../../engine/action.ts';
import type { GatewayConfig, OidcIssuerConfig, StaticKeyConfig } from './config.ts';
import { JwksFile, looksLikeJwt, TokenRejected, unverifiedIssuer, verifyJwt } from './jwt.ts';

export interface Caller {
  /** Stable key of the authenticated principal: a session belongs to exactly one. */
  readonly principal: string;
  readonly subject: Subject;
  /** When the credential stops being valid (ms since the epoch), if it says. */
  readonly expiresAt?: number;
}

export type Authentication = { readonly ok: true; readonly caller: Caller } | { readonly ok: false; readonly reason: string };

const CACHE_LIMIT = 10_000;

export class CallerAuthenticator {
  readonly #keys: readonly StaticKeyConfig[];
  readonly #issuers: readonly { config: OidcIssuerConfig; jwks: JwksFile }[];
  /** Verified JWTs by digest: signature checks are the costliest step of a request. */
  readonly #verified = new Map<string, Caller>();

  constructor(auth: GatewayConfig['auth']) {
    this.#keys = auth.keys;
    this.#issuers = auth.oidc.map((config) => ({ config, jwks: new JwksFile(config.jwksFile) }));
  }

  authenticate(authorization: string | undefined, now: number): Authentication {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) return { ok: false, reason: 'a bearer token is required (Authorization: Bearer <token>)' };
    return this.authenticateToken(m[1] as string, now);
  }

  authenticateToken(token: string, now: number): Authentication {
    const digest = createHash('sha256').update(token).digest();
    const key = this.#staticKey(digest);
    if (key) return { ok: true, caller: { principal: `key:${key.clientId}`, subject: { username: key.username, groups: key.groups, mcpClientId: key.clientId } } };
    if (!looksLikeJwt(token) || this.#issuers.length === 0) return { ok: false, reason: 'unknown token' };
    const cacheKey = digest.toString('base64');
    const cached = this.#verified.get(cacheKey);
    if (cached && (cached.expiresAt ?? 0) > now) return { ok: true, caller: cached };
    if (cached) this.#verified.delete(cacheKey);
    const iss = unverifiedIssuer(token);
    const issuer = this.#issuers.find((i) => i.config.issuer === iss);
    if (!issuer) return { ok: false, reason: `tokens from issuer ${JSON.stringify(iss)} are not accepted` };
    try {
      const claims = verifyJwt(token, issuer.jwks, { ...issuer.config, now });
      const caller = oidcCaller(claims, issuer.config);
      if (this.#verified.size >= CACHE_LIMIT) this.#verified.delete(this.#verified.keys().next().value as string);
      this.#verified.set(cacheKey, caller);
      return { ok: true, caller };
    } catch (e) {
      if (e instanceof TokenRejected) return { ok: false, reason: e.message };
      throw e;
    }
  }

  #staticKey(digest: Buffer): StaticKeyConfig | undefined {
    // Every key is compared, so the time taken does not tell which one came close.
    let found: StaticKeyConfig | undefined;
    for (const k of this.#keys) if (timingSafeEqual(k.digest, digest)) found = k;
    return found;
  }
}

function oidcCaller(claims: Record<string, unknown>, issuer: OidcIssuerConfig): Caller {
  const subject = typeof claims.oid === 'string' && claims.oid !== '' ? claims.oid : claims.sub;
  if (typeof subject !== 'string' || subject === '') throw new TokenRejected('the token names no subject (oid or sub)');
  const rawGroups = claims[issuer.groupsClaim];
  const groups = Array.isArray(rawGroups) ? rawGroups.filter((g): g is string => typeof g === 'string') : [];
  return {
    principal: `oidc:${issuer.issuer}\n${subject}`,
    subject: { username: `${issuer.usernamePrefix}${subject}`, groups, oidc: { issuer: issuer.issuer, subject } },
    expiresAt: (claims.exp as number) * 1000 + issuer.clockSkewMs,
  };
}
