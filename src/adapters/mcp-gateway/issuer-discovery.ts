// Authorization server metadata (RFC 8414), fetched from the issuer the configuration trusts. The
// well-known suffix goes between host and path (RFC 8414 §3.1); OpenID Connect discovery is tried
// after it, in the order the MCP authorization spec gives. The document must name exactly the
// issuer it was fetched for (RFC 8414 §3.3, the mix-up defence RFC 9207 builds on): otherwise an
// issuer could vouch for another's keys.

export class IssuerUnavailable extends Error {
  override readonly name = 'IssuerUnavailable';
}

export interface IssuerMetadata {
  readonly issuer: string;
  readonly jwks_uri: string;
  readonly [field: string]: unknown;
}

const FETCH_TIMEOUT_MS = 5_000;
const MAX_METADATA_BYTES = 256 * 1024;

/** Where the metadata may be, most specific first. */
export function metadataUrls(issuer: string): URL[] {
  const u = new URL(issuer);
  const path = u.pathname.replace(/\/+$/, '');
  const at = (p: string) => new URL(p, u.origin);
  if (path === '') return [at('/.well-known/oauth-authorization-server'), at('/.well-known/openid-configuration')];
  return [
    at(`/.well-known/oauth-authorization-server${path}`),
    at(`/.well-known/openid-configuration${path}`),
    at(`${path}/.well-known/openid-configuration`),
  ];
}

async function fetchJson(url: URL): Promise<unknown | undefined> {
  const res = await fetch(url, {
    redirect: 'error',
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    headers: { accept: 'application/json' },
  });
  if (res.status === 404) {
    await res.body?.cancel();
    return undefined;
  }
  if (!res.ok) throw new IssuerUnavailable(`${url.href} answered HTTP ${res.status}`);
  const text = await res.text();
  if (text.length > MAX_METADATA_BYTES)
    throw new IssuerUnavailable(`${url.href}: metadata larger than ${MAX_METADATA_BYTES} bytes`);
  return JSON.parse(text);
}

export async function discoverIssuer(issuer: string): Promise<IssuerMetadata> {
  const tried: string[] = [];
  for (const url of metadataUrls(issuer)) {
    let doc: unknown;
    try {
      doc = await fetchJson(url);
    } catch (e) {
      throw e instanceof IssuerUnavailable ? e : new IssuerUnavailable(`${url.href}: ${(e as Error).message}`);
    }
    if (doc === undefined) {
      tried.push(url.href);
      continue;
    }
    const m = doc as Partial<IssuerMetadata>;
    if (m.issuer !== issuer)
      throw new IssuerUnavailable(`${url.href} names issuer ${JSON.stringify(m.issuer)}, not ${issuer}`);
    if (typeof m.jwks_uri !== 'string') throw new IssuerUnavailable(`${url.href} names no jwks_uri`);
    const jwks = new URL(m.jwks_uri);
    if (jwks.protocol !== 'https:' && jwks.protocol !== new URL(issuer).protocol)
      throw new IssuerUnavailable(`${url.href}: jwks_uri must use https`);
    return m as IssuerMetadata;
  }
  throw new IssuerUnavailable(`no authorization server metadata for ${issuer} (tried ${tried.join(', ')})`);
}
