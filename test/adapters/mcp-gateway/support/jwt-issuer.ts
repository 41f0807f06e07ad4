// A test OIDC issuer: RS256 and ES256 keys, their JWKS file, and signed access tokens.
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';

export interface TestIssuer {
  readonly issuer: string;
  readonly jwksFile: string;
  token(
    claims: Record<string, unknown>,
    opts?: { alg?: 'RS256' | 'ES256' | 'none' | 'HS256'; kid?: string; key?: KeyObject },
  ): string;
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

export function createTestIssuer(issuer: string, jwksFile: string): TestIssuer {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = (k: KeyObject, kid: string, alg: string) => ({
    ...(k.export({ format: 'jwk' }) as object),
    kid,
    alg,
    use: 'sig',
  });
  writeFileSync(
    jwksFile,
    JSON.stringify({ keys: [jwk(rsa.publicKey, 'rsa-1', 'RS256'), jwk(ec.publicKey, 'ec-1', 'ES256')] }),
  );
  return {
    issuer,
    jwksFile,
    token(claims, opts = {}) {
      const alg = opts.alg ?? 'ES256';
      const kid = opts.kid ?? (alg === 'RS256' ? 'rsa-1' : 'ec-1');
      const head = `${b64({ alg, typ: 'JWT', kid })}.${b64(claims)}`;
      if (alg === 'none') return `${head}.`;
      if (alg === 'HS256') return `${head}.${Buffer.from('not-a-real-mac').toString('base64url')}`;
      const key = opts.key ?? (alg === 'RS256' ? rsa.privateKey : ec.privateKey);
      const sig =
        alg === 'ES256'
          ? sign('sha256', Buffer.from(head), { key, dsaEncoding: 'ieee-p1363' })
          : sign('sha256', Buffer.from(head), key);
      return `${head}.${sig.toString('base64url')}`;
    },
  };
}
