import type { FastifyBaseLogger, LogLevel } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

type Level = Exclude<LogLevel, 'silent'>;
type Logger = FastifyBaseLogger & { isLevelEnabled(level: string): boolean };

/**
 * Fastify's childLoggerFactory: each request's `request.log` without a pino child built per request.
 * Building one serialises the request id binding through the redaction setup, on every request, for
 * a logger most requests never use (access logs are off below `info`). The child is made the first
 * time the request logs at a level that is on; until then nothing is allocated but this object.
 */
export function lazyRequestLogger(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  // A route with a log level of its own gets a real child at once: its level is not the parent's.
  if (options.level !== undefined) return parent.child(bindings, options);
  const levels = parent as Logger;
  let child: FastifyBaseLogger | undefined;
  const real = () => (child ??= parent.child(bindings, options));
  const logAt =
    (level: Level) =>
    (...args: unknown[]): void => {
      if (child !== undefined || levels.isLevelEnabled(level)) real()[level](...(args as Parameters<FastifyBaseLogger['info']>));
    };
  return {
    get level() {
      return child?.level ?? parent.level;
    },
    set level(value: string) {
      real().level = value;
    },
    fatal: logAt('fatal'),
    error: logAt('error'),
    warn: logAt('warn'),
    info: logAt('info'),
    debug: logAt('debug'),
    trace: logAt('trace'),
    silent: () => undefined,
    child: (childBindings: Bindings, childOptions?: ChildLoggerOptions) => real().child(childBindings, childOptions),
  };
}
