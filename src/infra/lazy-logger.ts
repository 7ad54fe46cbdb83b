import type { FastifyBaseLogger, LogLevel } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

type Level = Exclude<LogLevel, 'silent'>;
type Logger = FastifyBaseLogger & { isLevelEnabled(level: string): boolean };

/**
 * A child logger that is only built when it first logs at a level that is on. Building a pino child
 * serialises its bindings through the redaction setup: on every request (Fastify's `request.log`) and
 * every job, for a logger most of them never use (request logs are off below `info`). Until it logs,
 * nothing is allocated but this object. Also Fastify's childLoggerFactory, as it is.
 */
export function lazyChildLogger(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions = {}): FastifyBaseLogger {
  // A child with a level of its own (a route's log level) is a real one at once: its level is not the parent's.
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
