// OAuth 2.1 access tokens (JWT) from the authorization servers the configuration trusts, verified
// with jose: signature by a key of the issuer's JWKS (fetched from the jwks_uri its metadata names,
// cached, fetched again when a token names a key it lacks: rotation), issuer, audience (RFC 8707:
// the token was minted for this resource), expiry and not-before within a bounded clock skew.
// Only asymmetric algorithms: a shared secret would let anyone holding it mint identities.
import { readFileSync, statSync } from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import type { OidcIssuerConfig } from './config.ts';
import { discoverIssuer, type IssuerMetadata, IssuerUnavailable } from './issuer-discovery.ts';

export { IssuerUnavailable } from './issuer-discovery.ts';

export class TokenRejected extends Error {
  override readonly name = 'TokenRejected';
}

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** A failed discovery is not repeated for every request. */
const DISCOVERY_RETRY_MS = 10_000;

export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

/** The unverified issuer: only to pick which trusted issuer's keys verify the token. */
export function unverifiedIssuer(token: string): string | undefined {
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

/** A JWKS file read again when a token names a key it lacks and the file changed (rotation by file). */
function fileKeys(path: string): JWTVerifyGetKey {
  let mtimeMs = -1;
  let keys: JWTVerifyGetKey | undefined;
  const load = () => {
    const st = statSync(path);
    if (st.mtimeMs === mtimeMs && keys) return false;
    keys = createLocalJWKSet(JSON.parse(readFileSync(path, 'utf8')) as JSONWebKeySet);
    mtimeMs = st.mtimeMs;
    return true;
  };
  return async (header, token) => {
    load();
    try {
      return await (keys as JWTVerifyGetKey)(header, token);
    } catch (e) {
      if (!(e instanceof errors.JWKSNoMatchingKey) || !load()) throw e;
      return (keys as JWTVerifyGetKey)(header, token);
    }
  };
}

export class TrustedIssuer {
  readonly config: OidcIssuerConfig;
  #keys: JWTVerifyGetKey | undefined;
  #metadata: IssuerMetadata | undefined;
  #discovering: Promise<IssuerMetadata> | undefined;
  #failedAt = 0;
  #failure: IssuerUnavailable | undefined;

  constructor(config: OidcIssuerConfig) {
    this.config = config;
    if (config.jwksFile) this.#keys = fileKeys(config.jwksFile);
  }

  /** The issuer's metadata (RFC 8414), discovered once: its JWKS and its token endpoint. */
  metadata(now: number): Promise<IssuerMetadata> {
    if (this.#metadata) return Promise.resolve(this.#metadata);
    if (this.#failure && now - this.#failedAt < DISCOVERY_RETRY_MS) return Promise.reject(this.#failure);
    this.#discovering ??= discoverIssuer(this.config.issuer)
      .then((m) => {
        this.#metadata = m;
        return m;
      })
      .catch((e: unknown) => {
        this.#failure = e instanceof IssuerUnavailable ? e : new IssuerUnavailable((e as Error).message);
        this.#failedAt = now;
        throw this.#failure;
      })
      .finally(() => {
        this.#discovering = undefined;
      });
    return this.#discovering;
  }

  async #getKeys(now: number): Promise<JWTVerifyGetKey> {
    if (this.#keys) return this.#keys;
    const m = await this.metadata(now);
    this.#keys ??= createRemoteJWKSet(new URL(m.jwks_uri), {
      cooldownDuration: this.config.jwksRefreshCooldownMs,
      timeoutDuration: 5_000,
    });
    return this.#keys;
  }

  /** The verified claims; TokenRejected when the token is at fault, IssuerUnavailable when the issuer cannot be reached. */
  async verify(token: string, now: number): Promise<JWTPayload> {
    const keys = await this.#getKeys(now);
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: this.config.issuer,
        audience: [...this.config.audiences],
        algorithms: ALGORITHMS,
        clockTolerance: Math.floor(this.config.clockSkewMs / 1000),
        currentDate: new Date(now),
        requiredClaims: ['exp'],
      });
      return payload;
    } catch (e) {
      throw asRejection(e);
    }
  }
}

function asRejection(e: unknown): Error {
  if (e instanceof errors.JWKSTimeout) return new IssuerUnavailable("the issuer's JWKS did not answer in time");
  if (e instanceof errors.JWTExpired) return new TokenRejected('the token expired');
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.claim === 'aud') return new TokenRejected('the token was not issued for this resource (audience)');
    if (e.claim === 'nbf') return new TokenRejected('the token is not valid yet (nbf)');
    return new TokenRejected(`claim ${e.claim}: ${e.reason}`);
  }
  if (e instanceof errors.JWKSNoMatchingKey) return new TokenRejected("no key of the issuer's JWKS matches the token");
  if (e instanceof errors.JOSEAlgNotAllowed)
    return new TokenRejected("the token's algorithm is not accepted (asymmetric signatures only)");
  if (e instanceof errors.JWSSignatureVerificationFailed) return new TokenRejected('bad signature');
  if (e instanceof errors.JWKSInvalid || (e instanceof errors.JOSEError && e.code === 'ERR_JOSE_GENERIC'))
    return new IssuerUnavailable(`the issuer's JWKS could not be used: ${e.message}`);
  if (e instanceof errors.JOSEError) return new TokenRejected(`malformed token (${e.code})`);
  // A JWKS that cannot be fetched (network, HTTP status) is the issuer's fault, not the token's.
  return new IssuerUnavailable(`the issuer's JWKS could not be fetched: ${(e as Error).message}`);
}
