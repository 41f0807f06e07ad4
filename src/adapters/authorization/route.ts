import type { FastifyInstance } from 'fastify';
import type { Decider } from '../shared/decider.ts';
import { replyBadInput } from '../shared/http.ts';
import { decodeSubjectAccessReview, encodeSubjectAccessReview } from './subject-access-review.ts';

/** POST /authorize: authorization webhook. Governs agents' reads; no opinion on everything else. */
export function authorizationRoute(app: FastifyInstance, decider: Decider): void {
  app.post('/authorize', async (req, reply) => {
    let decoded: ReturnType<typeof decodeSubjectAccessReview>;
    try {
      decoded = decodeSubjectAccessReview(req.body);
    } catch (e) {
      return replyBadInput(reply, e) ?? Promise.reject(e);
    }
    if (decoded.kind !== 'resource') return encodeSubjectAccessReview(undefined);
    const r = await decider.decide(decoded.action);
    return encodeSubjectAccessReview(r.decision, r.ledgerIndex);
  });
}
