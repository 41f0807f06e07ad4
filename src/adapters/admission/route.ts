import type { FastifyInstance } from 'fastify';
import type { Decider } from '../shared/decider.ts';
import { replyBadInput } from '../shared/http.ts';
import { decodeAdmissionReview } from './decode.ts';
import { encodeAdmissionResponse } from './encode.ts';

/** POST /admission: ValidatingAdmissionWebhook, admission.k8s.io/v1. */
export function admissionRoute(app: FastifyInstance, decider: Decider): void {
  app.post('/admission', async (req, reply) => {
    let decoded: ReturnType<typeof decodeAdmissionReview>;
    try {
      decoded = decodeAdmissionReview(req.body);
    } catch (e) {
      return replyBadInput(reply, e) ?? Promise.reject(e);
    }
    const outcome = await decider.decide(decoded.action);
    return encodeAdmissionResponse(decoded.uid, outcome);
  });
}
