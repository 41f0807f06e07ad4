// JSON-RPC errors the gateway answers with. The SDK turns a thrown error with a numeric `code`
// into a JSON-RPC error carrying that code, message and data, so these are plain errors with a
// code; upstream errors pass through with their own code and without the SDK's message prefix.
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';

/** Server-defined codes (JSON-RPC reserves -32000…-32099 for them). */
export const GATEWAY_ERRORS = {
  /** The SDK's own code for a connection that closed under a request. */
  upstreamClosed: ErrorCode.ConnectionClosed,
  timeout: ErrorCode.RequestTimeout,
  /** Same as the SDK's server transport uses for an unknown session. */
  sessionNotFound: -32001,
  upstreamUnavailable: -32002,
  unauthorized: -32003,
  tooLarge: -32004,
  overloaded: -32005,
  /** DNS-rebinding protection: a Host or Origin outside the allow-lists. */
  forbidden: -32006,
} as const;

export class ProtocolError extends Error {
  readonly code: number;
  readonly data?: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
    this.data = data;
  }
}

const SDK_PREFIX = /^MCP error -?\d+: /;

/** An upstream's failure as the agent should see it: its JSON-RPC error as sent, or what happened to the connection. */
export function fromUpstream(server: string, e: unknown): ProtocolError {
  if (e instanceof McpError) {
    const message = e.message.replace(SDK_PREFIX, '');
    if (e.code === ErrorCode.ConnectionClosed)
      return new ProtocolError(
        e.code,
        `upstream ${server}: ${message === 'Connection closed' ? 'the connection closed before it answered' : message}`,
      );
    if (e.code === ErrorCode.RequestTimeout)
      return new ProtocolError(e.code, `upstream ${server} did not answer in time`, e.data);
    return new ProtocolError(e.code, message, e.data);
  }
  if (e instanceof ProtocolError) return e;
  return new ProtocolError(ErrorCode.InternalError, `upstream ${server}: ${(e as Error)?.message ?? String(e)}`);
}

/** The JSON-RPC error body for failures answered before a session or the SDK is involved. */
export function jsonRpcErrorBody(
  code: number,
  message: string,
  id: string | number | null = null,
): { jsonrpc: '2.0'; error: { code: number; message: string }; id: string | number | null } {
  return { jsonrpc: '2.0', error: { code, message }, id };
}
