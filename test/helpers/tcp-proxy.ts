import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy between the app and a server (PostgreSQL, Redis), so that a test can make the server
 * unreachable for this app alone: the shared server itself is never stopped.
 */
export interface TcpProxy {
  /** The port the app connects to instead of the server's. */
  readonly port: number;
  /** Rewrites `url` (postgres://…, redis://…) to go through this proxy. */
  urlFor(url: string): string;
  /** A server that went away: resets every open connection, and each new one as soon as it is accepted. */
  cut(): void;
  /**
   * A network that went silent (a failover in progress, a dropped route): open connections stop
   * carrying anything, and new ones are accepted but never answered. Nothing is reset.
   */
  stall(): void;
  /** Forwards new connections again; connections held silent by `stall` are reset, as a long partition ends. */
  restore(): void;
  close(): Promise<void>;
}

type Mode = 'forward' | 'cut' | 'stall';

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  // Connections accepted while stalled, and pairs frozen by a stall: reset when the stall ends.
  const held = new Set<Socket>();
  let mode: Mode = 'forward';

  const reset = (socket: Socket) => (socket.destroyed ? undefined : socket.resetAndDestroy());

  const server: Server = createServer((client) => {
    client.on('error', () => undefined);
    if (mode === 'cut') {
      reset(client);
      return;
    }
    if (mode === 'stall') {
      client.pause();
      held.add(client);
      return;
    }
    const upstream = createConnection(target);
    upstream.on('error', () => undefined);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP port');

  const resetAll = () => {
    for (const [client, upstream] of pairs) {
      reset(client);
      upstream.destroy();
    }
    pairs.clear();
    for (const socket of held) reset(socket);
    held.clear();
  };

  return {
    port: address.port,
    urlFor(url) {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(address.port);
      return parsed.toString();
    },
    cut() {
      mode = 'cut';
      resetAll();
    },
    stall() {
      mode = 'stall';
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
        held.add(client).add(upstream);
      }
      pairs.clear();
    },
    restore() {
      mode = 'forward';
      for (const socket of held) reset(socket);
      held.clear();
    },
    close() {
      mode = 'cut';
      resetAll();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Host and port of a postgres:// or redis:// URL. */
export function targetOf(url: string, defaultPort: number): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname || '127.0.0.1', port: parsed.port ? Number(parsed.port) : defaultPort };
}
