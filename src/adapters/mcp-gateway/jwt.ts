// OIDC access tokens (Entra ID included) verified offline against a JWKS file: RS256 and ES256 with
// node:crypto, issuer, audience, expiry and not-before checked. Nothing else is accepted: no
// `none`, no HMAC (a shared secret would let anyone holding it mint identities).
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

export class TokenRejected extends Error {
  override readonly name = 'TokenRejected';
}

export interface JwtClaims {
  readonly iss: string;
  readonly sub?: string;
  readonly oid?: string;
  readonly aud: string | readonly string[];
  readonly exp: number;
  readonly nbf?: number;
  readonly [claim: string]: unknown;
}

const ALGORITHMS = {
  RS256: { kty: 'RSA', dsaEncoding: undefined },
  ES256: { kty: 'EC', crv: 'P-256', dsaEncoding: 'ieee-p1363' },
} as const;
type Algorithm = keyof typeof ALGORITHMS;

interface Jwk {
  readonly kid?: string;
  readonly kty: string;
  readonly crv?: string;
  readonly alg?: string;
  readonly use?: string;
}

/** The keys of one JWKS file, re-read when a token names a key it lacks and the file changed (key rotation). */
export class JwksFile {
  readonly #path: string;
  #mtimeMs = -1;
  #keys: { jwk: Jwk; key: KeyObject }[] = [];

  constructor(path: string) {
    this.#path = path;
    this.#reload();
  }

  #reload(): void {
    const st = statSync(this.#path);
    if (st.mtimeMs === this.#mtimeMs) return;
    const doc = JSON.parse(readFileSync(this.#path, 'utf8')) as { keys?: unknown };
    if (!Array.isArray(doc.keys)) throw new Error(`${this.#path}: a JWKS needs a "keys" array`);
    this.#keys = (doc.keys as Jwk[]).filter((k) => k.use === undefined || k.use === 'sig').map((jwk) => ({ jwk, key: createPublicKey({ key: jwk as never, format: 'jwk' }) }));
    this.#mtimeMs = st.mtimeMs;
  }

  find(kid: string | undefined, alg: Algorithm): KeyObject | undefined {
    const want = ALGORITHMS[alg];
    const pick = () => {
      const fitting = this.#keys.filter(({ jwk }) => jwk.kty === want.kty && (!('crv' in want) || jwk.crv === want.crv) && (jwk.alg === undefined || jwk.alg === alg));
      if (kid !== undefined) return fitting.find(({ jwk }) => jwk.kid === kid)?.key;
      return fitting.length === 1 ? fitting[0]?.key : undefined;
    };
    const found = pick();
    if (found) return found;
    try {
      this.#reload();
    } catch {
      return undefined;
    }
    return pick();
  }
}

function decodeSegment(segment: string, what: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {}
  throw new TokenRejected(`the token's ${what} is not a JSON object`);
}

export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

/** The unverified issuer: only to pick which issuer's keys verify the token. */
export function unverifiedIssuer(token: string): string | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const iss = decodeSegment(payload, 'payload').iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

export interface VerifyOptions {
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly clockSkewMs: number;
  readonly now: number;
}

export function verifyJwt(token: string, jwks: JwksFile, opts: VerifyOptions): JwtClaims {
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenRejected('not a JWT');
  const [h, p, s] = parts as [string, string, string];
  const header = decodeSegment(h, 'header');
  const alg = header.alg;
  if (alg !== 'RS256' && alg !== 'ES256') throw new TokenRejected(`algorithm ${JSON.stringify(alg)} is not accepted (RS256, ES256)`);
  const key = jwks.find(typeof header.kid === 'string' ? header.kid : undefined, alg);
  if (!key) throw new TokenRejected(`no ${alg} key${typeof header.kid === 'string' ? ` with kid ${header.kid}` : ''} in the issuer's JWKS`);
  const dsaEncoding = ALGORITHMS[alg].dsaEncoding;
  const ok = verify('sha256', Buffer.from(`${h}.${p}`), dsaEncoding ? { key, dsaEncoding } : key, Buffer.from(s, 'base64url'));
  if (!ok) throw new TokenRejected('bad signature');
  const claims = decodeSegment(p, 'payload');
  if (claims.iss !== opts.issuer) throw new TokenRejected(`issuer ${JSON.stringify(claims.iss)} is not ${opts.issuer}`);
  const aud = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
  if (!aud.some((a) => typeof a === 'string' && opts.audiences.includes(a)))
    throw new TokenRejected(`audience ${JSON.stringify(claims.aud)} is not one of ${opts.audiences.join(', ')}`);
  if (typeof claims.exp !== 'number') throw new TokenRejected('the token has no expiry (exp)');
  if (opts.now >= claims.exp * 1000 + opts.clockSkewMs) throw new TokenRejected('the token expired');
  if (typeof claims.nbf === 'number' && opts.now < claims.nbf * 1000 - opts.clockSkewMs) throw new TokenRejected('the token is not valid yet (nbf)');
  return claims as unknown as JwtClaims;
}
