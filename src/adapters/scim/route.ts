// SCIM 2.0 service provider at /scim/v2 (RFC 7643, RFC 7644): identity providers push Users and
// Groups here as they do to any SaaS application. Thin: authenticate with the SCIM token,
// translate, call the directory service, answer in SCIM's shapes (errors included).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DirectoryResult, DirectoryService } from '../../service/directory.ts';
import type { ScimResource, ScimResourceType } from '../../service/directory-index.ts';
import { compileFilter } from './filter.ts';
import {
  CONTENT_TYPE,
  MAX_RESULTS,
  resourceTypes,
  SCHEMA,
  ScimProblem,
  schemas,
  serviceProviderConfig,
} from './protocol.ts';
import { patched, project, resourceFrom } from './resources.ts';
import { parse } from 'scim2-parse-filter';

export interface ScimDeps {
  readonly directory: DirectoryService;
  /** SHA-256 of the SCIM bearer token: its own, never a human's or an agent's. */
  readonly tokenSha256: Buffer;
  readonly clock?: () => number;
}

const ENDPOINTS: readonly [string, ScimResourceType][] = [
  ['Users', 'User'],
  ['Groups', 'Group'],
];

const sha256 = (s: string) => createHash('sha256').update(s).digest();
const baseUrl = (req: FastifyRequest) => `${req.protocol}://${req.headers.host ?? 'localhost'}/scim/v2`;
const versionOf = (r: ScimResource) => Number(/\d+/.exec(r.meta.version)?.[0]);
const send = (reply: FastifyReply, status: number, body: unknown) => reply.code(status).type(CONTENT_TYPE).send(body);

function listResponse(all: readonly unknown[], query: Record<string, string | undefined>) {
  const int = (name: string, fallback: number) => {
    const v = query[name];
    if (v === undefined) return fallback;
    if (!/^-?\d+$/.test(v))
      throw new ScimProblem(400, `${name} must be an integer, got ${JSON.stringify(v)}`, 'invalidValue');
    return Number(v);
  };
  const startIndex = Math.max(1, int('startIndex', 1));
  const count = Math.min(MAX_RESULTS, Math.max(0, int('count', 100)));
  const page = all.slice(startIndex - 1, startIndex - 1 + count);
  return {
    schemas: [SCHEMA.listResponse],
    totalResults: all.length,
    startIndex,
    itemsPerPage: page.length,
    Resources: page,
  };
}

function withLocation(r: ScimResource, base: string): Record<string, unknown> {
  return {
    ...r,
    meta: { ...r.meta, location: `${base}/${r.meta.resourceType === 'User' ? 'Users' : 'Groups'}/${r.id}` },
  };
}

/** `userName eq "x"` / `displayName eq "x"` — what providers ask before every create — from the name index. */
function candidates(dir: DirectoryService, type: ScimResourceType, filter: string | undefined): Iterable<ScimResource> {
  const all = type === 'User' ? dir.index.users : dir.index.groups;
  try {
    const f = filter ? parse(filter) : undefined;
    const key = type === 'User' ? 'username' : 'displayname';
    if (f?.op === 'eq' && f.attrPath.toLowerCase() === key && typeof f.compValue === 'string') {
      const ids = type === 'User' ? dir.index.usersNamed(f.compValue) : dir.index.groupsNamed(f.compValue);
      return ids.map((id) => all.get(id) as ScimResource);
    }
  } catch {
    // compileFilter reports the parse error
  }
  return all.values();
}

function checkIfMatch(req: FastifyRequest, current: ScimResource): void {
  const want = req.headers['if-match'];
  if (want === undefined || want.trim() === '*') return;
  if (!want.split(',').some((t) => t.trim() === current.meta.version || t.trim() === current.meta.version.slice(2)))
    throw new ScimProblem(412, `the resource is at version ${current.meta.version}, not ${want}`);
}

function outcome<T>(r: DirectoryResult<T>, what: string): T {
  if (r.ok) return r.value;
  if (r.conflict === 'uniqueness')
    throw new ScimProblem(409, `${what}: ${r.why.replace(/^uniqueness: /, '')}`, 'uniqueness');
  if (r.conflict === 'missing') throw new ScimProblem(404, `${what}: ${r.why}`);
  throw new ScimProblem(409, `${what}: ${r.why}; read it again and retry`);
}

/** Members must name Users or Groups this directory holds: no dangling references to resolve owners through. */
function checkMembers(dir: DirectoryService, r: ScimResource): void {
  if (r.meta.resourceType !== 'Group' || !Array.isArray(r.members)) return;
  for (const m of r.members as { value: string }[]) {
    if (m.value === r.id) throw new ScimProblem(400, 'a group cannot be its own member', 'invalidValue');
    if (!dir.index.users.has(m.value) && !dir.index.groups.has(m.value))
      throw new ScimProblem(400, `member ${m.value} is no User or Group here`, 'invalidValue');
  }
}

function resourceRoutes(api: FastifyInstance, deps: ScimDeps, endpoint: string, type: ScimResourceType): void {
  const dir = deps.directory;
  const now = () => (deps.clock ?? Date.now)();
  const existing = (id: string) => {
    const r = dir.index.get(type, id);
    if (!r) throw new ScimProblem(404, `no ${type} ${id}`);
    return r;
  };
  const answer = (req: FastifyRequest, reply: FastifyReply, status: number, r: ScimResource) =>
    send(
      reply.header('etag', r.meta.version).header('location', `${baseUrl(req)}/${endpoint}/${r.id}`),
      status,
      withLocation(r, baseUrl(req)),
    );

  api.get<{ Querystring: Record<string, string | undefined> }>(`/${endpoint}`, async (req, reply) => {
    const test = compileFilter(req.query.filter);
    const found = [...candidates(dir, type, req.query.filter)]
      .filter(test)
      .map((r) =>
        project(withLocation(r, baseUrl(req)) as ScimResource, req.query.attributes, req.query.excludedAttributes),
      );
    return send(reply, 200, listResponse(found, req.query));
  });
  api.get<{ Params: { id: string }; Querystring: Record<string, string | undefined> }>(
    `/${endpoint}/:id`,
    async (req, reply) => {
      const r = existing(req.params.id);
      if (req.headers['if-none-match'] === r.meta.version) return reply.code(304).send();
      return send(
        reply.header('etag', r.meta.version),
        200,
        project(withLocation(r, baseUrl(req)) as ScimResource, req.query.attributes, req.query.excludedAttributes),
      );
    },
  );
  api.post(`/${endpoint}`, async (req, reply) => {
    const r = resourceFrom(type, req.body, undefined, now());
    checkMembers(dir, r);
    return answer(req, reply, 201, outcome(await dir.put(r, undefined), `cannot create ${type}`));
  });
  api.put<{ Params: { id: string } }>(`/${endpoint}/:id`, async (req, reply) => {
    const current = existing(req.params.id);
    checkIfMatch(req, current);
    const r = resourceFrom(type, req.body, current, now());
    checkMembers(dir, r);
    return answer(
      req,
      reply,
      200,
      outcome(await dir.put(r, versionOf(current)), `cannot replace ${type} ${current.id}`),
    );
  });
  api.patch<{ Params: { id: string } }>(`/${endpoint}/:id`, async (req, reply) => {
    const current = existing(req.params.id);
    checkIfMatch(req, current);
    const r = patched(type, current, req.body, now());
    checkMembers(dir, r);
    return answer(
      req,
      reply,
      200,
      outcome(await dir.put(r, versionOf(current)), `cannot modify ${type} ${current.id}`),
    );
  });
  api.delete<{ Params: { id: string } }>(`/${endpoint}/:id`, async (req, reply) => {
    const current = existing(req.params.id);
    checkIfMatch(req, current);
    outcome(await dir.remove(type, current.id, versionOf(current)), `cannot delete ${type} ${current.id}`);
    return reply.code(204).send();
  });
}

function discoveryRoutes(api: FastifyInstance): void {
  const one = (list: Record<string, unknown>[], id: string) => {
    const found = list.find((x) => x.id === id);
    if (!found) throw new ScimProblem(404, `no ${id}`);
    return found;
  };
  api.get('/ServiceProviderConfig', async (req, reply) => send(reply, 200, serviceProviderConfig(baseUrl(req))));
  api.get<{ Querystring: Record<string, string | undefined> }>('/ResourceTypes', async (req, reply) =>
    send(reply, 200, listResponse(resourceTypes(baseUrl(req)), req.query)),
  );
  api.get<{ Params: { id: string } }>('/ResourceTypes/:id', async (req, reply) =>
    send(reply, 200, one(resourceTypes(baseUrl(req)), req.params.id)),
  );
  api.get<{ Querystring: Record<string, string | undefined> }>('/Schemas', async (req, reply) =>
    send(reply, 200, listResponse(schemas(baseUrl(req)), req.query)),
  );
  api.get<{ Params: { id: string } }>('/Schemas/:id', async (req, reply) =>
    send(reply, 200, one(schemas(baseUrl(req)), req.params.id)),
  );
}

/** Fastify's own 4xx (bad JSON, too large, wrong media type) and ours, all as SCIM errors; anything else a 500 that says nothing inside. */
function scimError(e: Error & { statusCode?: number }, req: FastifyRequest, reply: FastifyReply) {
  const p =
    e instanceof ScimProblem
      ? e
      : e.statusCode !== undefined && e.statusCode < 500
        ? new ScimProblem(e.statusCode, e.message, e.statusCode === 400 ? 'invalidSyntax' : undefined)
        : new ScimProblem(500, 'internal error (see the server log)');
  if (p.status >= 500) req.log.error({ err: e }, 'SCIM request failed');
  return send(reply, p.status, p.body());
}

export function scimRoutes(app: FastifyInstance, deps: ScimDeps): void {
  app.register(
    async (api) => {
      api.addContentTypeParser(
        'application/scim+json',
        { parseAs: 'string' },
        api.getDefaultJsonParser('error', 'error'),
      );
      api.setErrorHandler(scimError);
      api.setNotFoundHandler((req, reply) =>
        send(reply, 404, new ScimProblem(404, `no SCIM endpoint ${req.method} ${req.url}`).body()),
      );
      api.addHook('onRequest', async (req, reply) => {
        const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
        if (m && timingSafeEqual(sha256(m[1] as string), deps.tokenSha256)) return;
        return send(
          reply.header('www-authenticate', 'Bearer realm="tether-scim"'),
          401,
          new ScimProblem(
            401,
            'the SCIM bearer token is required (scim.token in the tether serve configuration)',
          ).body(),
        );
      });
      discoveryRoutes(api);
      for (const [endpoint, type] of ENDPOINTS) resourceRoutes(api, deps, endpoint, type);
    },
    { prefix: '/scim/v2' },
  );
}
