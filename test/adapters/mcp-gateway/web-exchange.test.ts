// The gateway's translation between Node's HTTP and the SDK's Web-standard transport, over a real
// server on 127.0.0.1: an event stream leaves chunk by chunk (a result is not held for the stream's
// end or a timer), a client that goes away cancels the stream, a JSON answer goes whole with its
// length, and any request target (absolute-form, malformed) still becomes a Request.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { after, describe, it } from 'node:test';
import { sendWebResponse, webRequest } from '../../../src/adapters/mcp-gateway/web-exchange.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function serve(handler: Handler): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

/** A stream the test feeds by hand, and whether the consumer cancelled it. */
function handFed(): {
  stream: ReadableStream<Uint8Array>;
  push(s: string): void;
  end(): void;
  cancelled: Promise<void>;
} {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let cancelled!: () => void;
  const wasCancelled = new Promise<void>((r) => (cancelled = r));
  const stream = new ReadableStream<Uint8Array>({
    start: (c) => {
      controller = c;
    },
    cancel: () => cancelled(),
  });
  return {
    stream,
    push: (s) => controller.enqueue(new TextEncoder().encode(s)),
    end: () => controller.close(),
    cancelled: wasCancelled,
  };
}

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

describe('web exchange', () => {
  it('writes an event stream as it comes: the first event reaches the client before the stream ends', {
    timeout: 10_000,
  }, async () => {
    const feed = handFed();
    const { server, port } = await serve((_req, res) => {
      const r = new Response(feed.stream, { status: 200, headers: { 'content-type': 'text/event-stream' } });
      void sendWebResponse(r, res);
    });
    servers.push(server);
    feed.push('id: 1\ndata: {}\n\n');
    const got: string[] = [];
    const ended = new Promise<number | undefined>((resolve, reject) => {
      request({ port, host: '127.0.0.1', path: '/mcp' }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          got.push(c);
          // Only once the first event has arrived does the server produce the result and end.
          if (got.length === 1) {
            feed.push('id: 2\ndata: {"result":1}\n\n');
            feed.end();
          }
        });
        res.on('end', () => resolve(res.statusCode));
        res.on('error', reject);
      })
        .on('error', reject)
        .end();
    });
    assert.equal(await ended, 200);
    assert.equal(got[0], 'id: 1\ndata: {}\n\n');
    assert.equal(got.join(''), 'id: 1\ndata: {}\n\nid: 2\ndata: {"result":1}\n\n');
  });

  it('cancels the stream when the client goes away, so the transport forgets it', { timeout: 10_000 }, async () => {
    const feed = handFed();
    const { server, port } = await serve((_req, res) => {
      void sendWebResponse(new Response(feed.stream, { headers: { 'content-type': 'text/event-stream' } }), res);
    });
    servers.push(server);
    feed.push(': open\n\n');
    await new Promise<void>((resolve, reject) => {
      const req = request({ port, host: '127.0.0.1', path: '/mcp' }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
      req.once('error', reject);
      req.end();
    });
    await feed.cancelled;
  });

  it('sends a JSON answer whole, with its length, status and headers', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: -32000, message: 'é'.repeat(10) } });
    const { server, port } = await serve((_req, res) => {
      const r = new Response(body, {
        status: 404,
        headers: { 'content-type': 'application/json', 'mcp-session-id': 'abc' },
      });
      void sendWebResponse(r, res);
    });
    servers.push(server);
    const got = await fetch(`http://127.0.0.1:${port}/mcp`);
    assert.equal(got.status, 404);
    assert.equal(got.headers.get('mcp-session-id'), 'abc');
    assert.equal(got.headers.get('content-length'), String(Buffer.byteLength(body)));
    assert.equal(got.headers.get('transfer-encoding'), null);
    assert.equal(await got.text(), body);
  });

  it('turns any request target into a Request: absolute-form, malformed, repeated headers', async () => {
    const seen: Request[] = [];
    const { server, port } = await serve((req, res) => {
      seen.push(webRequest(req));
      res.end();
    });
    servers.push(server);
    const raw = (target: string) =>
      new Promise<void>((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () =>
          s.write(
            `POST ${target} HTTP/1.1\r\nHost: x\r\nAccept: a\r\nAccept: b\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
          ),
        );
        s.on('data', () => undefined);
        s.on('close', () => resolve());
        s.on('error', reject);
      });
    await raw('http://evil.example/mcp?x=1');
    await raw('/mcp/%zz');
    await raw('http://[bad/mcp');
    assert.ok(seen.length >= 2, `the server saw ${seen.length} requests`);
    for (const r of seen) {
      assert.equal(r.method, 'POST');
      assert.equal(r.headers.get('accept'), 'a, b');
    }
    assert.equal(new URL((seen[0] as Request).url).pathname, '/mcp');
    assert.equal(new URL((seen[1] as Request).url).pathname, '/mcp/%zz');
  });
});
