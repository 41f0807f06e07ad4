// What a witness polls. Both routes are open without a token: a checkpoint and a consistency
// proof are hashes and a signature, nothing an entry holds, and a witness should not need a
// Tether credential to keep Tether honest. A witness keeps every checkpoint it fetched; on a new
// one it asks for the consistency proof from its last and checks it (tether ledger verify
// --against does the same against the stored log).
import type { FastifyInstance } from 'fastify';
import type { Ledger } from '../../ledger/ledger.ts';
import { published } from '../../ledger/witness.ts';

const SIZE = /^(0|[1-9][0-9]{0,15})$/;

function size(v: unknown, name: string): number | string {
  if (v === undefined) return `${name} is required`;
  if (typeof v !== 'string' || !SIZE.test(v)) return `${name} must be a non-negative integer, got ${JSON.stringify(v)}`;
  return Number(v);
}

export function ledgerWitnessRoutes(app: FastifyInstance, ledger: Ledger): void {
  app.get('/v1/ledger/checkpoints/latest', async (_req, reply) => {
    const latest = await ledger.latestCheckpoint();
    if (!latest) return reply.code(404).send({ error: 'not-found', message: 'no checkpoint has been signed yet' });
    return published(latest);
  });

  app.get<{ Querystring: Record<string, unknown> }>('/v1/ledger/consistency', async (req, reply) => {
    const from = size(req.query.from, 'from');
    const to = req.query.to === undefined ? (await ledger.head()).size : size(req.query.to, 'to');
    const bad = [from, to].find((x) => typeof x === 'string');
    if (bad !== undefined) return reply.code(400).send({ error: 'bad request', message: bad });
    const head = (await ledger.head()).size;
    if ((to as number) > head)
      return reply
        .code(400)
        .send({ error: 'bad request', message: `to (${to}) is beyond the log, which holds ${head} entries` });
    if ((from as number) > (to as number))
      return reply.code(400).send({ error: 'bad request', message: `from (${from}) must not exceed to (${to})` });
    return ledger.proveConsistency(from as number, to as number);
  });
}
