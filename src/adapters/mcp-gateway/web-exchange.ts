// Fastify's request in, the SDK's Web-standard Streamable HTTP transport's Response out, its chunks
// written as they come. Why not the SDK's Node wrapper (StreamableHTTPServerTransport): it goes
// through @hono/node-server, which holds a streamed response that has not ended after two reads
// for a timer turn (at least 1 ms) before it writes anything. A tool call answered over SSE (the
// priming event first, the result about a millisecond later) fell into that wait about one time in
// five: the gateway's own handle-to-finish times in bench/gateway had a second mode 1 ms above the
// first, which set its p90 and p99 above mcp-proxy's.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Any absolute-form or odd request target still gives a URL: only the path and query matter to the SDK. */
const BASE = 'http://gateway.invalid';

/** The transport reads the method, the headers and the URL; the body comes parsed, beside the Request. */
export function webRequest(raw: IncomingMessage): Request {
  const headers = new Headers();
  const h = raw.rawHeaders;
  for (let i = 0; i + 1 < h.length; i += 2) headers.append(h[i] as string, h[i + 1] as string);
  let url: URL;
  try {
    url = new URL(raw.url ?? '/', BASE);
  } catch {
    url = new URL('/', BASE);
  }
  return new Request(url, { method: raw.method ?? 'GET', headers });
}

function headerRecord(res: Response): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  res.headers.forEach((value, name) => {
    out[name] = value;
  });
  const cookies = res.headers.getSetCookie();
  if (cookies.length > 0) out['set-cookie'] = cookies;
  return out;
}

/** Resolves when the socket can take more, or is gone. */
function writable(out: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}

/**
 * Writes `res` onto `out`. A JSON (or empty) body goes in one write with its length. An event
 * stream is written chunk by chunk as the transport enqueues them, with writes of one turn
 * corked together (a result and the stream's end leave in one packet); when the client goes
 * away, the stream is cancelled so the transport forgets it. Resolves when the response is done.
 */
export async function sendWebResponse(res: Response, out: ServerResponse): Promise<void> {
  const headers = headerRecord(res);
  if (!res.body || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const body = res.body ? Buffer.from(await res.arrayBuffer()) : undefined;
    if (body) headers['content-length'] = String(body.length);
    out.writeHead(res.status, headers).end(body);
    return;
  }
  out.writeHead(res.status, headers);
  const reader = res.body.getReader();
  const cancel = () => void reader.cancel().catch(() => undefined);
  out.once('close', cancel);
  try {
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done || out.destroyed) break;
      if (!out.writableCorked) {
        out.cork();
        process.nextTick(() => out.uncork());
      }
      if (!out.write(chunk.value)) await writable(out);
    }
    if (!out.destroyed) out.end();
  } catch (e) {
    out.destroy(e as Error);
  } finally {
    out.off('close', cancel);
  }
}
