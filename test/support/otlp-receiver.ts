// An OTLP/HTTP trace receiver for tests: a real HTTP server on 127.0.0.1 accepting what the official
// exporter sends (POST /v1/traces, protobuf ExportTraceServiceRequest) and decoding it. No protobuf
// library in the tree decodes OTLP requests (the SDK only encodes them), so the wire format is read
// here by hand: varints, length-delimited fields and fixed64, for the fields the tests look at.
import { createServer, type Server } from 'node:http';

export interface ReceivedSpan {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  /** 1 internal, 2 server, 3 client (OTLP SpanKind). */
  readonly kind: number;
  readonly attributes: Readonly<Record<string, unknown>>;
}

type Field = { no: number; wire: number; value: bigint | Buffer };

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = (): bigint => {
    let shift = 0n;
    let v = 0n;
    for (;;) {
      const b = buf[i++] as number;
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const no = key >> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ no, wire, value: varint() });
    else if (wire === 1) {
      out.push({ no, wire, value: buf.readBigUInt64LE(i) });
      i += 8;
    } else if (wire === 2) {
      const len = Number(varint());
      out.push({ no, wire, value: buf.subarray(i, i + len) });
      i += len;
    } else if (wire === 5) {
      out.push({ no, wire, value: BigInt(buf.readUInt32LE(i)) });
      i += 4;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
  return out;
}

const all = (buf: Buffer, no: number) => fields(buf).filter((f) => f.no === no);
const bytes = (buf: Buffer, no: number) => all(buf, no)[0]?.value as Buffer | undefined;

/** AnyValue: string 1, bool 2, int 3, double 4, array 5. */
function anyValue(buf: Buffer): unknown {
  const [f] = fields(buf);
  if (!f) return undefined;
  if (f.no === 1) return (f.value as Buffer).toString('utf8');
  if (f.no === 2) return f.value === 1n;
  if (f.no === 3) return Number(BigInt.asIntN(64, f.value as bigint));
  if (f.no === 4) return (f.value as Buffer).readDoubleLE(0);
  if (f.no === 5) return all(f.value as Buffer, 1).map((v) => anyValue(v.value as Buffer));
  return undefined;
}

function attributes(buf: Buffer, no: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of all(buf, no))
    out[(bytes(kv.value as Buffer, 1) ?? Buffer.alloc(0)).toString('utf8')] = anyValue(
      bytes(kv.value as Buffer, 2) ?? Buffer.alloc(0),
    );
  return out;
}

/** ExportTraceServiceRequest → spans, each with its resource's service.name. */
export function decodeTraceRequest(body: Buffer): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of all(body, 1)) {
    const resource = bytes(rs.value as Buffer, 1);
    const service = String(resource ? (attributes(resource, 1)['service.name'] ?? '') : '');
    for (const ss of all(rs.value as Buffer, 2)) {
      for (const sp of all(ss.value as Buffer, 2)) {
        const s = sp.value as Buffer;
        const hex = (no: number) => (bytes(s, no) ?? Buffer.alloc(0)).toString('hex');
        spans.push({
          service,
          traceId: hex(1),
          spanId: hex(2),
          parentSpanId: hex(4),
          name: (bytes(s, 5) ?? Buffer.alloc(0)).toString('utf8'),
          kind: Number((all(s, 6)[0]?.value as bigint | undefined) ?? 0n),
          attributes: attributes(s, 9),
        });
      }
    }
  }
  return spans;
}

export interface OtlpReceiver {
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (
        req.method !== 'POST' ||
        req.url !== '/v1/traces' ||
        req.headers['content-type'] !== 'application/x-protobuf'
      ) {
        res.writeHead(415).end();
        return;
      }
      spans.push(...decodeTraceRequest(Buffer.concat(chunks)));
      // An empty ExportTraceServiceResponse: full success.
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Buffer.alloc(0));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
