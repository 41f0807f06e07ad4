import type { FastifyInstance } from 'fastify';
import type { AuditSummary } from '../../service/audit-recorder.ts';
import { replyBadInput } from '../shared/http.ts';
import { type AuditFact, decodeAuditEventList } from './events.ts';

/** POST /audit: audit webhook backend (audit.k8s.io/v1 EventList). */
export function auditRoute(app: FastifyInstance, record: (facts: AuditFact[]) => Promise<AuditSummary>): void {
  app.post('/audit', async (req, reply) => {
    let facts: AuditFact[];
    try {
      facts = decodeAuditEventList(req.body);
    } catch (e) {
      return replyBadInput(reply, e) ?? Promise.reject(e);
    }
    const summary = await record(facts);
    return { recorded: summary.recorded, undecided: summary.undecided.length };
  });
}
