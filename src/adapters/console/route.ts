// Serves the web console (console/ at the repo root): its static files (listed below), nothing else. The page
// needs no token to load; every /v1 call it makes does. A strict CSP keeps it to its own origin.
import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';

const DIR = new URL('../../../console/', import.meta.url);

/** Exactly the files served, by name: nothing else under console/ or elsewhere is reachable. */
const FILES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'dom.js': 'text/javascript; charset=utf-8',
  'nav.js': 'text/javascript; charset=utf-8',
  'approvals.js': 'text/javascript; charset=utf-8',
  'diff.js': 'text/javascript; charset=utf-8',
  'chain.js': 'text/javascript; charset=utf-8',
  'drift.js': 'text/javascript; charset=utf-8',
  'expansions.js': 'text/javascript; charset=utf-8',
  'live.js': 'text/javascript; charset=utf-8',
  'proof.js': 'text/javascript; charset=utf-8',
  'owners.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

export const CONSOLE_CSP =
  "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

async function send(reply: FastifyReply, name: string): Promise<FastifyReply> {
  const type = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
  if (!type) return reply.code(404).send({ error: 'not-found', message: `no console file ${JSON.stringify(name)}` });
  const body = await readFile(new URL(name, DIR));
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cache-control', 'no-cache')
    .type(type)
    .send(body);
}

export function consoleRoute(app: FastifyInstance): void {
  app.get('/console', async (_req, reply) => reply.redirect('/console/'));
  app.get('/console/', async (_req, reply) => send(reply, 'index.html'));
  app.get<{ Params: { file: string } }>('/console/:file', async (req, reply) => send(reply, req.params.file));
}
