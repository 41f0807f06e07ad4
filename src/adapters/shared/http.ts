import type { FastifyReply } from 'fastify';
import { DecodeError } from './decode-error.ts';

/** A client error answered as 400 with what was wrong and where; anything else is the server's fault. */
export function replyBadInput(reply: FastifyReply, e: unknown): FastifyReply | undefined {
  if (e instanceof DecodeError) return reply.code(400).send({ error: 'bad request', message: e.message, path: e.path });
  return undefined;
}
