// Who is calling: a bearer token is either a configured static key (→ an MCP client id) or an
// OAuth access token (JWT) from a trusted authorization server (→ issuer + subject, Entra's `oid`
// preferred over `sub` because `sub` is pairwise per application; optionally a client id claim
// → the MCP client id). Anything else is refused before MCP begins.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { Subject } from '../../engine/action.ts';
import type { GatewayConfig, OidcIssuerConfig, StaticKeyConfig } from './config.ts';
import { IssuerUnavailable, looksLikeJwt, TokenRejected, TrustedIssuer, unverifiedIssuer } from './token-verifier.ts';

export interface Caller {
  /** Stable key of the authenticated principal: a session belongs to exactly one. */
  readonly principal: string;
  readonly subject: Subject;
  /** When the credential stops being valid (ms since the epoch), if it says. */
  readonly expiresAt?: number;
}

/**
 * `missing`: no bearer token at all (the challenge then carries no error, RFC 6750 §3.1);
 * `invalid`: a token that is refused; `unavailable`: the issuer's keys cannot be had right now.
 */
export type Authentication =
  | { readonly ok: true; readonly caller: Caller }
  | { readonly ok: false; readonly problem: 'missing' | 'invalid' | 'unavailable'; readonly reason: string };

const CACHE_LIMIT = 10_000;

/** The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1), if that is what it holds. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
}

export class CallerAuthenticator {
  readonly #keys: readonly StaticKeyConfig[];
  /** The trusted issuers, shared with token exchange (their discovered metadata is reused). */
  readonly issuers: readonly TrustedIssuer[];
  /** Verified JWTs by digest: signature checks are the costliest step of a request. */
  readonly #verified = new Map<string, Caller>();

  constructor(auth: GatewayConfig['auth']) {
    this.#keys = auth.keys;
    this.issuers = auth.oidc.map((config) => new TrustedIssuer(config));
  }

  authenticate(authorization: string | undefined, now: number): Promise<Authentication> {
    const token = bearerToken(authorization);
    if (token === undefined)
      return Promise.resolve({
        ok: false,
        problem: 'missing',
        reason: 'a bearer token is required (Authorization: Bearer <token>)',
      });
    return this.authenticateToken(token, now);
  }

  async authenticateToken(token: string, now: number): Promise<Authentication> {
    const digest = createHash('sha256').update(token).digest();
    const key = this.#staticKey(digest);
    if (key)
      return {
        ok: true,
        caller: {
          principal: `key:${key.clientId}`,
          subject: { username: key.username, groups: key.groups, mcpClientId: key.clientId },
        },
      };
    if (!looksLikeJwt(token) || this.issuers.length === 0)
      return { ok: false, problem: 'invalid', reason: 'unknown token' };
    const cacheKey = digest.toString('base64');
    const cached = this.#verified.get(cacheKey);
    if (cached && (cached.expiresAt ?? 0) > now) return { ok: true, caller: cached };
    if (cached) this.#verified.delete(cacheKey);
    const iss = unverifiedIssuer(token);
    const issuer = this.issuers.find((i) => i.config.issuer === iss);
    if (!issuer)
      return { ok: false, problem: 'invalid', reason: `tokens from issuer ${JSON.stringify(iss)} are not accepted` };
    try {
      const caller = oauthCaller(await issuer.verify(token, now), issuer.config);
      if (this.#verified.size >= CACHE_LIMIT) this.#verified.delete(this.#verified.keys().next().value as string);
      this.#verified.set(cacheKey, caller);
      return { ok: true, caller };
    } catch (e) {
      if (e instanceof TokenRejected) return { ok: false, problem: 'invalid', reason: e.message };
      if (e instanceof IssuerUnavailable)
        return {
          ok: false,
          problem: 'unavailable',
          reason: `the authorization server cannot be reached: ${e.message}`,
        };
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

function stringClaim(claims: JWTPayload, name: string | undefined): string | undefined {
  const v = name === undefined ? undefined : claims[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function oauthCaller(claims: JWTPayload, issuer: OidcIssuerConfig): Caller {
  const subject = stringClaim(claims, 'oid') ?? stringClaim(claims, 'sub');
  if (subject === undefined) throw new TokenRejected('the token names no subject (oid or sub)');
  const rawGroups = claims[issuer.groupsClaim];
  const groups = Array.isArray(rawGroups) ? rawGroups.filter((g): g is string => typeof g === 'string') : [];
  const clientId = stringClaim(claims, issuer.clientIdClaim);
  return {
    principal: `oidc:${issuer.issuer}\n${subject}`,
    subject: {
      username: `${issuer.usernamePrefix}${subject}`,
      groups,
      oidc: { issuer: issuer.issuer, subject },
      ...(clientId ? { mcpClientId: clientId } : {}),
    },
    expiresAt: (claims.exp as number) * 1000 + issuer.clockSkewMs,
  };
}
