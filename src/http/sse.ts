import type { FastifyReply, FastifyRequest } from 'fastify';

export interface EventStreamWriter {
  send(event: string, data: unknown): void;
  /** Aborts when the client goes away. */
  readonly signal: AbortSignal;
  end(): void;
}

const HEARTBEAT_MS = 15_000;

export const wantsEventStream = (request: FastifyRequest) => (request.headers.accept ?? '').includes('text/event-stream');

/** Takes the response over from Fastify and opens a Server-Sent Events stream on it. */
export function openEventStream(request: FastifyRequest, reply: FastifyReply, headers: Record<string, string> = {}): EventStreamWriter {
  const disconnected = new AbortController();
  const raw = reply.hijack().raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no', // nginx: pass events through at once
    'x-request-id': request.id,
    ...headers,
  });
  // A comment line now and then keeps proxies from closing a quiet stream.
  const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  raw.on('close', () => {
    clearInterval(heartbeat);
    disconnected.abort();
  });
  return {
    signal: disconnected.signal,
    send(event, data) {
      if (!raw.writableEnded) raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end() {
      clearInterval(heartbeat);
      if (!raw.writableEnded) raw.end();
    },
  };
}
