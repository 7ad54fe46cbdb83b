import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/*
 * Secrets never reach a log: whatever object a log line carries, these fields are censored.
 * Paths cover the top level and one level down (pino's wildcards match a single level).
 */
const secretFields = ['otp', 'password', 'newPassword', 'currentPassword', 'accessToken', 'refreshToken', 'token', 'authorization', 'cookie', 'passwordHash', 'secret'];

export const redactPaths = [
  'req.url',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["stripe-signature"]',
  'res.headers["set-cookie"]',
  ...secretFields,
  ...secretFields.map((field) => `*.${field}`),
];

// The simulator's checkout and portal ids are capabilities: whoever has one can settle that checkout.
const CAPABILITY_IN_URL = /(\/subscribe\/simulated\/(?:portal\/)?)[^/?#]+/;

/** A request URL as telemetry may keep it (logs, traces): everything but a capability it carries. */
export const censorUrl = (url: string) => url.replace(CAPABILITY_IN_URL, '$1[redacted]');

/** Secrets are replaced whole; a request URL keeps everything but a capability it carries. */
function censor(value: unknown, path: string[]): unknown {
  if (path.join('.') === 'req.url' && typeof value === 'string') return censorUrl(value);
  return '[redacted]';
}

/** Fields added to every line as it is written (the trace ids when tracing is on). */
export type LogFields = () => Record<string, string>;

/** Without `fields`, no mixin at all: nothing runs per line that does not have to. */
export function loggerOptions(level: string, fields?: LogFields): LoggerOptions {
  return { level, redact: { paths: redactPaths, censor }, ...(fields ? { mixin: fields } : {}) };
}

export function createLogger(level: string, destination?: DestinationStream, fields?: LogFields): Logger {
  return destination ? pino(loggerOptions(level, fields), destination) : pino(loggerOptions(level, fields));
}

/**
 * Human-readable lines for a developer at a terminal (pino-pretty, a development dependency), JSON
 * everywhere else: log collectors parse JSON, and production images do not ship pino-pretty.
 */
export function createProcessLogger(level: string, pretty: boolean, fields?: LogFields): Logger {
  if (pretty && isInstalled('pino-pretty')) {
    return pino({ ...loggerOptions(level, fields), transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  return createLogger(level, undefined, fields);
}

function isInstalled(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}
