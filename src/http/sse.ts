import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface EventStreamWriter {
  /** With `id`, a client that reconnects sends it back as `Last-Event-ID`. */
  send(event: string, data: unknown, id?: string): void;
  /** Aborts when the client goes away. */
  readonly signal: AbortSignal;
  end(): void;
}

export type OpenEventStream = (request: FastifyRequest, reply: FastifyReply, headers?: Record<string, string>) => EventStreamWriter;

export const wantsEventStream = (request: FastifyRequest) => (request.headers.accept ?? '').includes('text/event-stream');

/**
 * Returns the function that turns a response into a Server-Sent Events stream. Streams still open
 * when the server closes get an `error` event (the client should poll or reconnect) and are ended,
 * so that they cannot hold a graceful shutdown hostage.
 */
export function eventStreams(app: FastifyInstance, { keepAliveMs }: { keepAliveMs: number }): OpenEventStream {
  const open = new Set<EventStreamWriter>();
  app.addHook('preClose', async () => {
    for (const stream of open) {
      stream.send('error', { code: 'SERVICE_UNAVAILABLE', message: 'The server is restarting; poll the reply or reconnect' });
      stream.end();
    }
  });

  return (request, reply, headers = {}) => {
    const disconnected = new AbortController();
    // Headers already set on the reply (CORS, request id, allowance) go out with the stream.
    const inherited = Object.fromEntries(
      Object.entries(reply.getHeaders()).filter((entry): entry is [string, string | number | string[]] => entry[1] !== undefined),
    );
    const raw = reply.hijack().raw;
    raw.writeHead(200, {
      ...inherited,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no', // nginx: pass events through at once
      'x-request-id': request.id,
      ...headers,
    });
    // Headers go out now: a client following a quiet reply learns at once that its stream is open.
    raw.flushHeaders();
    // A comment line now and then keeps proxies from closing a quiet stream.
    const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), keepAliveMs);
    heartbeat.unref();
    const writer: EventStreamWriter = {
      signal: disconnected.signal,
      send(event, data, id) {
        if (!raw.writableEnded) raw.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      },
      end() {
        clearInterval(heartbeat);
        open.delete(writer);
        if (!raw.writableEnded) raw.end();
      },
    };
    raw.on('close', () => {
      clearInterval(heartbeat);
      open.delete(writer);
      disconnected.abort();
    });
    open.add(writer);
    return writer;
  };
}
