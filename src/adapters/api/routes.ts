// The HTTP API humans (CLI, console) and agent frameworks use. Thin: authenticate, decode,
// call the service, encode. Every refusal names why.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Ledger } from '../../ledger/ledger.ts';
import { verifyStore } from '../../ledger/verify.ts';
import { explainAgent } from '../../policy/explain.ts';
import type { Governor, Refused } from '../../service/governor.ts';
import type { ApprovalStatus } from '../../engine/state.ts';
import type { ExpansionStatus, LedgerQuery, StoredApproval } from '../../store/store.ts';
import type { Caller } from '../../server/auth.ts';
import type { Decider } from '../shared/decider.ts';
import { DecodeError } from '../shared/decode-error.ts';
import { replyBadInput } from '../shared/http.ts';
import { parseChain, parseIntent } from '../shared/context-carriers.ts';
import { decodeAction } from './decode-action.ts';
import { ownerRoutes } from './owner-routes.ts';
import type { OwnersService } from '../../service/owners.ts';

export interface ApiDeps {
  readonly governor: Governor;
  readonly decider: Decider;
  readonly ledger: Ledger;
  readonly authenticate: (header: string | undefined) => Caller | undefined;
  /** After a boundary expansion is approved: re-derive the enforced policy. */
  readonly onExpansionDecided: () => Promise<void>;
  /** Owners, attestation, why and owner reports (src/adapters/api/owner-routes.ts). */
  readonly owners?: OwnersService;
  /** A human's verdict on an approval request (for the review-duration histogram). */
  readonly onVerdict?: (approval: StoredApproval, verdict: 'approved' | 'denied') => void;
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
  void reply.code(403).send({ error: 'forbidden', message: 'only a human may do this: agent identities never approve, reset or widen' });
  return undefined;
}

function reasonOf(body: unknown): string {
  const r = (body as { reason?: unknown } | null)?.reason;
  if (typeof r !== 'string') throw new DecodeError('reason', 'a reason is required (a string)');
  return r;
}

const num = (v: unknown, name: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new DecodeError(name, `must be a number, got ${JSON.stringify(v)}`);
  return n;
};

export function apiRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { governor, ledger } = deps;
  app.register(async (api) => {
    api.addHook('onRequest', async (req, reply) => {
      req.caller = deps.authenticate(req.headers.authorization);
      if (!req.caller)
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer')
          .send({ error: 'unauthorized', message: 'a bearer token is required (tether reads it from --token, TETHER_TOKEN or <dataDir>/admin-token)' });
    });
    api.setErrorHandler((e, _req, reply) => replyBadInput(reply, e) ?? reply.send(e));

    api.get('/v1/whoami', async (req) => req.caller);

    api.post('/v1/decide', async (req, reply) => {
      const caller = req.caller as Caller;
      const body = req.body as Record<string, unknown> | null;
      // An agent may only ask about itself: its token, not the body, says who it is (no groups, no other identities it could claim).
      const decoded = decodeAction(caller.kind === 'agent' ? { ...body, subject: { username: caller.username } } : body);
      // Intent, chain and approval may also travel as headers, for frameworks that add them to every request.
      const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : undefined);
      const r = await deps.decider.decide({
        ...decoded,
        intent: decoded.intent ?? parseIntent(header('x-tether-intent'), 'header X-Tether-Intent'),
        chain: decoded.chain ?? parseChain(header('x-tether-chain'), 'header X-Tether-Chain'),
        approvalId: decoded.approvalId ?? header('x-tether-approval'),
      });
      return reply.send({ ...r.decision, ledgerIndex: r.ledgerIndex, approvalId: r.approvalId });
    });

    api.post('/v1/intents', async (req, reply) => {
      const caller = req.caller as Caller;
      if (caller.kind !== 'agent') return reply.code(403).send({ error: 'forbidden', message: 'only an agent declares its own intent (use an agent token)' });
      const body = (req.body ?? {}) as { intent?: unknown; ttlSeconds?: unknown };
      const intent = parseIntent(body.intent, 'intent');
      if (!intent) throw new DecodeError('intent', 'is required: an object with a summary, or a plain-text summary');
      const ttl = num(body.ttlSeconds, 'ttlSeconds') ?? 600;
      if (ttl <= 0 || ttl > 86_400) throw new DecodeError('ttlSeconds', 'must be between 1 and 86400');
      const r = await governor.declareIntent(caller.username, intent, ttl * 1000);
      return r.ok ? r : refused(reply, r);
    });

    api.get('/v1/agents', async () => {
      const breakers = await governor.store.breakers();
      return [...governor.policy.agents.values()].map((a) => ({
        name: a.name,
        owner: a.spec.owner.id,
        authorityClass: a.authorityClass,
        mode: a.mode,
        identities: a.spec.identities,
        breaker: breakers.find((b) => b.scope === 'agent' && b.key === a.name)?.state ?? 'closed',
      }));
    });
    api.get<{ Params: { name: string } }>('/v1/agents/:name', async (req, reply) => {
      const a = governor.policy.agents.get(req.params.name);
      if (!a) return reply.code(404).send({ error: 'not-found', message: `no agent ${req.params.name}` });
      return { name: a.name, explanation: explainAgent(a, governor.policy), spec: a.spec, enforced: await governor.store.enforcedAgent(a.name) };
    });

    api.get<{ Querystring: { status?: ApprovalStatus; agent?: string } }>('/v1/approvals', async (req) =>
      governor.store.approvals({ status: req.query.status, agent: req.query.agent }),
    );
    api.get<{ Params: { id: string } }>(
      '/v1/approvals/:id',
      async (req, reply) => (await governor.store.approval(req.params.id)) ?? reply.code(404).send({ error: 'not-found', message: `no approval ${req.params.id}` }),
    );
    for (const verdict of ['approve', 'deny'] as const) {
      api.post<{ Params: { id: string } }>(`/v1/approvals/:id/${verdict}`, async (req, reply) => {
        const by = human(req, reply);
        if (!by) return reply;
        const r = await (verdict === 'approve' ? governor.approve(req.params.id, by, reasonOf(req.body)) : governor.deny(req.params.id, by, reasonOf(req.body)));
        if (!r.ok) return refused(reply, r);
        if (r.approval.status !== 'pending') deps.onVerdict?.(r.approval, r.approval.status === 'approved' ? 'approved' : 'denied');
        return r;
      });
      api.post<{ Params: { id: string } }>(`/v1/expansions/:id/${verdict}`, async (req, reply) => {
        const by = human(req, reply);
        if (!by) return reply;
        const r = await governor.decideExpansion(req.params.id, by, verdict === 'approve' ? 'approved' : 'denied', reasonOf(req.body));
        if (!r.ok) return refused(reply, r);
        await deps.onExpansionDecided();
        return r;
      });
    }
    api.get<{ Querystring: { agent?: string } }>('/v1/proposals', async (req) => governor.store.proposals({ agent: req.query.agent }));
    api.get<{ Querystring: { status?: ExpansionStatus; agent?: string } }>('/v1/expansions', async (req) =>
      governor.store.expansions({ status: req.query.status, agent: req.query.agent }),
    );

    api.get('/v1/breakers', async () => ({ breakers: await governor.store.breakers(), killSwitch: await governor.store.killSwitch() }));
    api.post('/v1/breakers/reset', async (req, reply) => {
      const by = human(req, reply);
      if (!by) return reply;
      const target = (req.body as { target?: unknown } | null)?.target;
      if (typeof target !== 'string' || target === '') throw new DecodeError('target', 'name the breaker: an agent name, or chain:<id>');
      const [scope, key] = target.startsWith('chain:') ? (['chain', target.slice(6)] as const) : (['agent', target] as const);
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

    api.get<{ Querystring: Record<string, string | undefined> }>('/v1/ledger', async (req) => {
      const q = req.query;
      const query: LedgerQuery = {
        agent: q.agent,
        owner: q.owner,
        actor: q.actor,
        object: q.object,
        kind: q.kind as LedgerQuery['kind'],
        since: q.since ? Date.parse(q.since) : undefined,
        until: q.until ? Date.parse(q.until) : undefined,
        fromIndex: num(q.from, 'from'),
        limit: num(q.limit, 'limit') ?? 100,
      };
      return governor.store.queryLedger(query);
    });
    api.get('/v1/ledger/head', async () => ({ ...(await ledger.head()), checkpoint: await ledger.latestCheckpoint() }));
    api.get<{ Params: { index: string } }>('/v1/ledger/proof/:index', async (req, reply) => {
      const index = num(req.params.index, 'index') as number;
      try {
        return await ledger.prove(index);
      } catch (e) {
        if (e instanceof RangeError) return reply.code(404).send({ error: 'not-found', message: e.message });
        throw e;
      }
    });
    api.post('/v1/ledger/checkpoint', async () => ledger.checkpoint());
    api.get('/v1/ledger/verify', async () => verifyStore(ledger.store, [ledger.signer.publicKey]));
    if (deps.owners) ownerRoutes(api, { owners: deps.owners, governor, ledger });
    api.get('/v1/ledger/pubkey', async () => ({ keyId: ledger.signer.keyId, pem: ledger.signer.publicKeyPem }));
  });
}
