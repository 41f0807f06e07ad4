// Reviewer views over the same /v1 API the CLI uses: an approval with its diff, an expansion
// with what it adds, a chain as a tree, drift findings, a ledger entry with everything needed to
// verify it, and a live feed of approvals and breakers. People only: an agent reads none of it.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { Ledger } from '../../ledger/ledger.ts';
import type { ApiReads } from '../../service/api-reads.ts';
import type { Governor } from '../../service/governor.ts';
import { chainView } from '../../service/chain-tree.ts';
import { approvalDetail, approvalQueue } from '../../service/review-approvals.ts';
import { type ClusterView, expansionDetail } from '../../service/review-expansion.ts';
import { ReviewFeed } from '../../service/review-feed.ts';
import { driftFindings, proofBundle } from '../../service/review-ledger.ts';
import { DecodeError } from '../shared/decode-error.ts';

export interface ReviewDeps {
  readonly governor: Governor;
  readonly ledger: Ledger;
  /** Presents what leaves the server (keyed digests). */
  readonly reads: Pick<ApiReads, 'presentApproval'>;
  /** The server's picture of the cluster, once it keeps one; without it expansions say "no cluster view". */
  readonly clusterView?: ClusterView;
  /** How often the live feed looks for changes. */
  readonly feedPollMs?: number;
}

const HEARTBEAT_MS = 15_000;
/** Open feeds per server: each costs a socket and a queue read per change. */
const MAX_STREAMS = 200;
/** A reader this far behind is cut off; it reconnects and gets a fresh snapshot instead of a backlog. */
const MAX_BUFFERED_BYTES = 256 * 1024;
// Fastify refuses longer path parameters itself (414).
const MAX_ID_LENGTH = 100;

function person(req: FastifyRequest, reply: FastifyReply): string | undefined {
  const c = req.caller;
  if (c?.kind === 'human') return c.id;
  void reply.code(403).send({
    error: 'forbidden',
    message: 'only a human may do this: review views are for the people who approve, investigate and audit',
  });
  return undefined;
}

const notFound = (reply: FastifyReply, what: string) =>
  reply.code(404).send({ error: 'not-found', message: `no ${what}` });

function idParam(v: string, name: string): string {
  if (v.length === 0 || v.length > MAX_ID_LENGTH)
    throw new DecodeError(name, `must be 1 to ${MAX_ID_LENGTH} characters`);
  return v;
}

function indexParam(v: string): number {
  if (!/^[0-9]{1,15}$/.test(v))
    throw new DecodeError(
      'index',
      `must be a ledger index (a non-negative integer), got ${JSON.stringify(v.slice(0, 40))}`,
    );
  return Number(v);
}

/** A stream the client closed takes no more writes (a write after end would be an error event). */
function write(res: ServerResponse, text: string): void {
  if (res.writableEnded || res.destroyed) return;
  if (res.writableLength > MAX_BUFFERED_BYTES) res.destroy();
  else res.write(text);
}

/** Server-sent events on a plain authenticated GET: the console reads it with fetch, so the token stays in a header. */
function openStream(req: FastifyRequest, reply: FastifyReply, streams: Set<ServerResponse>): ServerResponse {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.write(': tether review feed\n\n');
  streams.add(res);
  const beat = setInterval(() => write(res, ': keep-alive\n\n'), HEARTBEAT_MS).unref();
  req.raw.once('close', () => {
    clearInterval(beat);
    streams.delete(res);
  });
  return res;
}

export function reviewRoutes(api: FastifyInstance, deps: ReviewDeps): void {
  const { governor, ledger } = deps;
  const present = (a: Parameters<ApiReads['presentApproval']>[0]) => deps.reads.presentApproval(a);
  const feed = new ReviewFeed({
    store: governor.store,
    policy: () => governor.policy,
    present,
    pollMs: deps.feedPollMs,
  });
  const streams = new Set<ServerResponse>();
  api.addHook('preClose', async () => {
    feed.stop();
    for (const s of streams) s.end();
  });

  api.get('/v1/review/approvals', async (req, reply) => {
    const viewer = person(req, reply);
    return viewer ? approvalQueue(governor.store, governor.policy, viewer, Date.now(), present) : reply;
  });
  api.get<{ Params: { id: string } }>('/v1/review/approvals/:id', async (req, reply) => {
    const viewer = person(req, reply);
    if (!viewer) return reply;
    const d = await approvalDetail(
      governor.store,
      governor.policy,
      idParam(req.params.id, 'id'),
      viewer,
      Date.now(),
      present,
    );
    return d ?? notFound(reply, `approval ${req.params.id}`);
  });
  api.get<{ Params: { id: string } }>('/v1/review/expansions/:id', async (req, reply) => {
    if (!person(req, reply)) return reply;
    const d = await expansionDetail(governor.store, governor.policy, idParam(req.params.id, 'id'), deps.clusterView);
    return d ?? notFound(reply, `expansion ${req.params.id}`);
  });
  api.get<{ Params: { id: string } }>('/v1/review/chains/:id', async (req, reply) => {
    if (!person(req, reply)) return reply;
    const v = await chainView(governor.store, idParam(req.params.id, 'id'));
    return v ?? notFound(reply, `ledger entries for chain ${req.params.id}`);
  });
  api.get('/v1/review/drift', async (req, reply) => (person(req, reply) ? driftFindings(governor.store) : reply));
  api.get<{ Params: { index: string } }>('/v1/review/proof/:index', async (req, reply) => {
    if (!person(req, reply)) return reply;
    const index = indexParam(req.params.index);
    try {
      return await proofBundle(ledger, index);
    } catch (e) {
      if (e instanceof RangeError) return notFound(reply, `ledger entry ${index}`);
      throw e;
    }
  });
  api.get('/v1/review/events', async (req, reply) => {
    const viewer = person(req, reply);
    if (!viewer) return reply;
    if (streams.size >= MAX_STREAMS)
      return reply
        .code(503)
        .header('retry-after', '10')
        .send({ error: 'busy', message: `${MAX_STREAMS} live feeds are open on this server; retry shortly` });
    const res = openStream(req, reply, streams);
    try {
      const unsubscribe = await feed.subscribe(viewer, (event, data) =>
        write(res, `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
      );
      if (res.destroyed) unsubscribe();
      else req.raw.once('close', unsubscribe);
    } catch (e) {
      req.log.error({ err: e }, 'review feed failed to start');
      res.end();
    }
  });
}
