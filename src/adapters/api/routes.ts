// The HTTP API humans (CLI, console) and agent frameworks use. Thin: authenticate, decode,
// call the service, encode. Every refusal names why.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Ledger } from '../../ledger/ledger.ts';
import { verifyStore } from '../../ledger/verify.ts';
import type { ApiReads } from '../../service/api-reads.ts';
import type { Governor, Refused } from '../../service/governor.ts';
import { LEAF_KINDS } from '../../ledger/leaf.ts';
import type { StoredApproval } from '../../store/store.ts';
import type { Caller } from '../../server/auth.ts';
import type { Decider } from '../shared/decider.ts';
import { DecodeError } from '../shared/decode-error.ts';
import { replyBadInput } from '../shared/http.ts';
import { parseChain, parseIntent } from '../shared/context-carriers.ts';
import { decodeAction } from './decode-action.ts';
import { integer, oneOf, pageOf, sendPage, single, text, time } from './query.ts';
import { ledgerWitnessRoutes } from './ledger-witness-routes.ts';
import { reviewRoutes } from './review-routes.ts';
import type { ClusterView } from '../../service/review-expansion.ts';
import { ownerRoutes } from './owner-routes.ts';
import type { OwnersService } from '../../service/owners.ts';

export interface ApiDeps {
  readonly governor: Governor;
  readonly decider: Decider;
  readonly ledger: Ledger;
  /** Every read, paged and limited to what the caller may see. */
  readonly reads: ApiReads;
  readonly authenticate: (header: string | undefined) => Caller | undefined;
  /** After a boundary expansion is approved: re-derive the enforced policy. */
  readonly onExpansionDecided: () => Promise<void>;
  /** Owners, attestation, why and owner reports (src/adapters/api/owner-routes.ts). */
  readonly owners?: OwnersService;
  /** A human's verdict on an approval request (for the review-duration histogram). */
  readonly onVerdict?: (approval: StoredApproval, verdict: 'approved' | 'denied') => void;
  /** The server's picture of the cluster, for expansion review (clusterViewFrom); absent: "no cluster view". */
  readonly clusterView?: ClusterView;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

const STATUS = { forbidden: 403, 'not-found': 404, conflict: 409, invalid: 400 } as const;
const refused = (reply: FastifyReply, r: Refused) => reply.code(STATUS[r.code]).send({ error: r.code, message: r.why });

function human(req: FastifyRequest, reply: FastifyReply): string | undefined {
  const c = req.caller;
  if (c?.kind === 'human') return c.id;
  void reply.code(403).send({
    error: 'forbidden',
    message: 'only a human may do this: agent identities never approve, reset, widen, sign or verify',
  });
  return undefined;
}

/** A reason is a sentence or a paragraph for the ledger, not a document. */
export const MAX_REASON_CHARS = 2000;

function reasonOf(body: unknown): string {
  const r = (body as { reason?: unknown } | null)?.reason;
  if (typeof r !== 'string') throw new DecodeError('reason', 'a reason is required (a string)');
  if (r.length > MAX_REASON_CHARS)
    throw new DecodeError('reason', `must be at most ${MAX_REASON_CHARS} characters, got ${r.length}`);
  return r;
}

/** How long a declared intent may stand: a whole number of seconds up to a day. */
function ttlSecondsOf(v: unknown): number {
  if (v === undefined) return 600;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 86_400)
    throw new DecodeError('ttlSeconds', `must be a whole number of seconds from 1 to 86400, got ${JSON.stringify(v)}`);
  return v;
}

const APPROVAL_STATUSES = ['pending', 'approved', 'denied'] as const;
const EXPANSION_STATUSES = ['pending', 'approved', 'denied', 'superseded'] as const;
const notFound = (reply: FastifyReply, what: string) =>
  reply.code(404).send({ error: 'not-found', message: `no ${what}` });

export function apiRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { governor, ledger, reads } = deps;
  ledgerWitnessRoutes(app, ledger);
  app.register(async (api) => {
    api.addHook('onRequest', async (req, reply) => {
      req.caller = deps.authenticate(req.headers.authorization);
      if (!req.caller)
        return reply.code(401).header('www-authenticate', 'Bearer').send({
          error: 'unauthorized',
          message: 'a bearer token is required (tether reads it from --token, TETHER_TOKEN or <dataDir>/admin-token)',
        });
    });
    api.setErrorHandler((e, _req, reply) => replyBadInput(reply, e) ?? reply.send(e));

    api.get('/v1/whoami', async (req) => req.caller);

    api.post('/v1/decide', async (req, reply) => {
      const caller = req.caller as Caller;
      const body = req.body as Record<string, unknown> | null;
      // Where a decision came from is the route it arrived on, never what the caller says:
      // otherwise an agent could make its question look like the API server's admission call.
      if (body?.source !== undefined && body.source !== 'api')
        throw new DecodeError('action.source', 'is set by the route: decisions asked here are source "api"');
      if (caller.kind === 'agent' && body?.requestId !== undefined)
        throw new DecodeError('action.requestId', "names the API server's request: an agent token may not set it");
      // An agent may only ask about itself: its token, not the body, says who it is (no groups, no other identities it could claim).
      const decoded = decodeAction(
        caller.kind === 'agent' ? { ...body, subject: { username: caller.username } } : body,
      );
      // Intent, chain and approval may also travel as headers, for frameworks that add them to every request.
      const header = (name: string) =>
        typeof req.headers[name] === 'string' ? (req.headers[name] as string) : undefined;
      const r = await deps.decider.decide({
        ...decoded,
        intent: decoded.intent ?? parseIntent(header('x-tether-intent'), 'header X-Tether-Intent'),
        chain: decoded.chain ?? parseChain(header('x-tether-chain'), 'header X-Tether-Chain'),
        approvalId: decoded.approvalId ?? header('x-tether-approval'),
      });
      return reply.send({ ...reads.presentDecision(r.decision), ledgerIndex: r.ledgerIndex, approvalId: r.approvalId });
    });

    api.post('/v1/intents', async (req, reply) => {
      const caller = req.caller as Caller;
      if (caller.kind !== 'agent')
        return reply
          .code(403)
          .send({ error: 'forbidden', message: 'only an agent declares its own intent (use an agent token)' });
      const body = (req.body ?? {}) as { intent?: unknown; ttlSeconds?: unknown };
      const intent = parseIntent(body.intent, 'intent');
      if (!intent) throw new DecodeError('intent', 'is required: an object with a summary, or a plain-text summary');
      const ttl = ttlSecondsOf(body.ttlSeconds);
      const r = await governor.declareIntent(caller.username, intent, ttl * 1000);
      return r.ok ? r : refused(reply, r);
    });

    api.get<{ Querystring: Record<string, unknown> }>('/v1/agents', async (req, reply) =>
      sendPage(reply, await reads.agents(req.caller as Caller, pageOf(req.query))),
    );
    api.get<{ Params: { name: string } }>(
      '/v1/agents/:name',
      async (req, reply) =>
        (await reads.agent(req.caller as Caller, text(req.params.name, 'name'))) ??
        notFound(reply, `agent ${req.params.name}`),
    );

    api.get<{ Querystring: Record<string, unknown> }>('/v1/approvals', async (req, reply) => {
      const q = req.query;
      const filter = { status: oneOf(q, 'status', APPROVAL_STATUSES), agent: single(q, 'agent') };
      return sendPage(reply, await reads.approvals(req.caller as Caller, filter, pageOf(q)));
    });
    api.get<{ Params: { id: string } }>(
      '/v1/approvals/:id',
      async (req, reply) =>
        (await reads.approval(req.caller as Caller, text(req.params.id, 'id'))) ??
        notFound(reply, `approval ${req.params.id}`),
    );
    for (const verdict of ['approve', 'deny'] as const) {
      api.post<{ Params: { id: string } }>(`/v1/approvals/:id/${verdict}`, async (req, reply) => {
        const by = human(req, reply);
        if (!by) return reply;
        const id = text(req.params.id, 'id');
        const r = await (verdict === 'approve'
          ? governor.approve(id, by, reasonOf(req.body))
          : governor.deny(id, by, reasonOf(req.body)));
        if (!r.ok) return refused(reply, r);
        if (r.approval.status !== 'pending')
          deps.onVerdict?.(r.approval, r.approval.status === 'approved' ? 'approved' : 'denied');
        return { ...r, approval: reads.presentApproval(r.approval) };
      });
      api.post<{ Params: { id: string } }>(`/v1/expansions/:id/${verdict}`, async (req, reply) => {
        const by = human(req, reply);
        if (!by) return reply;
        const r = await governor.decideExpansion(
          text(req.params.id, 'id'),
          by,
          verdict === 'approve' ? 'approved' : 'denied',
          reasonOf(req.body),
        );
        if (!r.ok) return refused(reply, r);
        await deps.onExpansionDecided();
        return r;
      });
    }
    api.get<{ Querystring: Record<string, unknown> }>('/v1/proposals', async (req, reply) =>
      sendPage(
        reply,
        await reads.proposals(req.caller as Caller, { agent: single(req.query, 'agent') }, pageOf(req.query)),
      ),
    );
    api.get<{ Querystring: Record<string, unknown> }>('/v1/expansions', async (req, reply) => {
      const q = req.query;
      const filter = { status: oneOf(q, 'status', EXPANSION_STATUSES), agent: single(q, 'agent') };
      return sendPage(reply, await reads.expansions(req.caller as Caller, filter, pageOf(q)));
    });

    api.get<{ Querystring: Record<string, unknown> }>('/v1/breakers', async (req, reply) => {
      const page = await reads.breakers(req.caller as Caller, pageOf(req.query));
      if (page.next) sendPage(reply, { items: [], next: page.next });
      return page.items;
    });
    api.post('/v1/breakers/reset', async (req, reply) => {
      const by = human(req, reply);
      if (!by) return reply;
      const target = (req.body as { target?: unknown } | null)?.target;
      if (typeof target !== 'string' || target === '')
        throw new DecodeError('target', 'name the breaker: an agent name, or chain:<id>');
      const [scope, key] = target.startsWith('chain:')
        ? (['chain', target.slice(6)] as const)
        : (['agent', target] as const);
      const r = await governor.resetBreaker(scope, key, by, reasonOf(req.body));
      return r.ok ? r : refused(reply, r);
    });
    api.post('/v1/killswitch', async (req, reply) => {
      const by = human(req, reply);
      if (!by) return reply;
      const engaged = (req.body as { engaged?: unknown } | null)?.engaged;
      if (typeof engaged !== 'boolean') throw new DecodeError('engaged', 'must be true or false');
      const r = await governor.setKillSwitch(engaged, by, reasonOf(req.body));
      return r.ok ? r : refused(reply, r);
    });

    api.get<{ Querystring: Record<string, unknown> }>('/v1/ledger', async (req, reply) => {
      const q = req.query;
      const query = {
        agent: single(q, 'agent'),
        owner: single(q, 'owner'),
        actor: single(q, 'actor'),
        object: single(q, 'object'),
        kind: oneOf(q, 'kind', LEAF_KINDS),
        since: time(q, 'since'),
        until: time(q, 'until'),
      };
      // `from` (an index) is the older spelling of a cursor.
      const from = integer(q, 'from', { min: 0, max: Number.MAX_SAFE_INTEGER });
      const page = pageOf(q);
      return sendPage(
        reply,
        await reads.ledger(
          req.caller as Caller,
          query,
          from !== undefined && !page.after ? { ...page, after: { at: from, id: '' } } : page,
        ),
      );
    });
    api.get('/v1/ledger/head', async () => ({ ...(await ledger.head()), checkpoint: await ledger.latestCheckpoint() }));
    api.get<{ Params: { index: string } }>('/v1/ledger/proof/:index', async (req, reply) => {
      const index = integer({ index: req.params.index }, 'index', { min: 0, max: Number.MAX_SAFE_INTEGER }) as number;
      try {
        return await ledger.prove(index);
      } catch (e) {
        if (e instanceof RangeError) return reply.code(404).send({ error: 'not-found', message: e.message });
        throw e;
      }
    });
    // Signing a checkpoint vouches for the log; verifying reads all of it: both are for humans.
    api.post('/v1/ledger/checkpoint', async (req, reply) => (human(req, reply) ? ledger.checkpoint() : reply));
    api.get('/v1/ledger/verify', async (req, reply) =>
      human(req, reply)
        ? verifyStore(ledger.store, [ledger.signer.publicKey], { maxUnsignedAgeMs: ledger.maxUnsignedAgeMs })
        : reply,
    );
    const owners = deps.owners;
    // Owners, "why" and owner reports read across agents and the whole ledger: people only.
    if (owners)
      api.register(async (people) => {
        people.addHook('preHandler', async (req, reply) => (human(req, reply) ? undefined : reply));
        ownerRoutes(people, { owners, governor, ledger });
      });
    api.get('/v1/ledger/pubkey', async () => ({ keyId: ledger.signer.keyId, pem: ledger.signer.publicKeyPem }));
    reviewRoutes(api, deps);
  });
}
