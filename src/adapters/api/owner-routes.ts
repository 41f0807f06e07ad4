// Owners, attestation, "why" and owner reports on the HTTP API (the CLI and console call these).
import type { FastifyInstance } from 'fastify';
import type { Ledger } from '../../ledger/ledger.ts';
import type { Caller } from '../../server/auth.ts';
import type { Governor } from '../../service/governor.ts';
import { ownerReport, reportMarkdown } from '../../service/owner-report.ts';
import type { OwnersService } from '../../service/owners.ts';
import { answerWhy, objectKeyOf } from '../../service/why.ts';
import { DecodeError } from '../shared/decode-error.ts';
import { single } from './query.ts';

const STATUS = { forbidden: 403, 'not-found': 404, conflict: 409, invalid: 400 } as const;

function time(v: string | undefined, name: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw new DecodeError(name, `must be an ISO 8601 time or date, got ${JSON.stringify(v)}`);
  return t;
}

export function ownerRoutes(
  api: FastifyInstance,
  deps: { owners: OwnersService; governor: Governor; ledger: Ledger },
): void {
  const { owners, governor, ledger } = deps;
  // Registered by apiRoutes behind a people-only preHandler: these read across agents.
  api.get('/v1/owners', async () => owners.list());
  api.get('/v1/owners/orphans', async () => owners.orphans());
  api.post('/v1/owners/attest', async (req, reply) => {
    const caller = req.caller as Caller;
    if (caller.kind !== 'human')
      return reply
        .code(403)
        .send({ error: 'forbidden', message: 'only the owner attests, with their own (human) token' });
    const body = (req.body ?? {}) as { agent?: unknown; until?: unknown; reason?: unknown };
    if (typeof body.agent !== 'string' || body.agent === '') throw new DecodeError('agent', 'name the agent');
    if (typeof body.reason !== 'string') throw new DecodeError('reason', 'a reason is required (a string)');
    const until = time(typeof body.until === 'string' ? body.until : undefined, 'until');
    if (until === undefined) throw new DecodeError('until', 'is required: the time the attestation runs to');
    const r = await owners.attest(caller.id, body.agent, until, body.reason);
    return r.ok ? r : reply.code(STATUS[r.code]).send({ error: r.code, message: r.why });
  });
  // Query values go through single(): a parameter given twice, or holding a NUL, is a 400.
  api.get<{ Querystring: Record<string, unknown> }>('/v1/why', async (req) => {
    const ref = single(req.query, 'object');
    const key = ref ? objectKeyOf(ref) : undefined;
    if (!key)
      throw new DecodeError(
        'object',
        'name the object as <kind>/<namespace>/<name> (or <kind>/<name> when cluster-scoped)',
      );
    return answerWhy(governor.store, ledger, key, time(single(req.query, 'at'), 'at'));
  });
  api.get<{ Querystring: Record<string, unknown> }>('/v1/report', async (req, reply) => {
    const q = req.query;
    const owner = single(q, 'owner');
    if (!owner) throw new DecodeError('owner', 'name the owner');
    const since = time(single(q, 'since'), 'since');
    if (since === undefined) throw new DecodeError('since', 'is required: the start of the period');
    const until = time(single(q, 'until'), 'until') ?? Date.now();
    if (until <= since) throw new DecodeError('until', 'must be after since');
    const report = await ownerReport(governor.store, ledger, governor.policy, owner, since, until);
    if (single(q, 'format') === 'markdown')
      return reply.type('text/markdown; charset=utf-8').send(reportMarkdown(report));
    return report;
  });
}
