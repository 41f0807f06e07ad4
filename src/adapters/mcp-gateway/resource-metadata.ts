// The gateway as an OAuth 2.1 protected resource (MCP authorization spec): its Protected Resource
// Metadata (RFC 9728) names the authorization servers that may issue tokens for it, at
// /.well-known/oauth-protected-resource with the resource's path appended (RFC 9728 §3.1) and at the
// root (clients of older revisions look there), and every 401 points at it in WWW-Authenticate.
import type { FastifyInstance } from 'fastify';
import type { Authentication } from './caller-identity.ts';
import type { GatewayConfig } from './config.ts';

const WELL_KNOWN = '/.well-known/oauth-protected-resource';

export interface ProtectedResource {
  readonly metadataUrl: string;
  readonly document: Record<string, unknown>;
  readonly paths: readonly string[];
}

export function protectedResource(auth: GatewayConfig['auth']): ProtectedResource | undefined {
  if (!auth.resource) return undefined;
  const url = new URL(auth.resource);
  const path = url.pathname.replace(/\/+$/, '');
  const metadataUrl = `${url.origin}${WELL_KNOWN}${path}`;
  const document = {
    resource: auth.resource,
    authorization_servers: [...new Set(auth.oidc.map((o) => o.issuer))],
    bearer_methods_supported: ['header'],
    ...(auth.scopesSupported.length > 0 ? { scopes_supported: auth.scopesSupported } : {}),
    resource_name: 'Tether MCP governance gateway',
  };
  return { metadataUrl, document, paths: path === '' ? [WELL_KNOWN] : [`${WELL_KNOWN}${path}`, WELL_KNOWN] };
}

export function registerResourceMetadata(fastify: FastifyInstance, resource: ProtectedResource | undefined): void {
  if (!resource) return;
  for (const path of resource.paths) {
    if (fastify.hasRoute({ method: 'GET', url: path })) continue;
    fastify.get(path, async (_req, reply) =>
      reply.header('cache-control', 'max-age=300').type('application/json').send(resource.document),
    );
  }
}

/** RFC 6750 §3 challenge: no error code when no token came, invalid_token when one was refused. */
export function bearerChallenge(
  auth: Extract<Authentication, { ok: false }>,
  resource: ProtectedResource | undefined,
): string {
  const params = ['realm="tether-gateway"'];
  if (resource) params.push(`resource_metadata="${resource.metadataUrl}"`);
  if (auth.problem !== 'missing') {
    params.push('error="invalid_token"');
    params.push(`error_description="${auth.reason.replace(/[^\x20-\x7e]|"|\\/g, "'")}"`);
  }
  return `Bearer ${params.join(', ')}`;
}
