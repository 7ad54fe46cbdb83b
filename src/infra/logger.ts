import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/*
 * Secrets never reach a log: whatever object a log line carries, these fields are censored.
 * Paths cover the top level and one level down (pino's wildcards match a single level).
 */
const secretFields = ['otp', 'password', 'newPassword', 'currentPassword', 'accessToken', 'refreshToken', 'token', 'authorization', 'cookie', 'passwordHash', 'secret'];

export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["stripe-signature"]',
  'res.headers["set-cookie"]',
  ...secretFields,
  ...secretFields.map((field) => `*.${field}`),
];

export function loggerOptions(level: string): LoggerOptions {
  return { level, redact: { paths: redactPaths, censor: '[redacted]' } };
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return destination ? pino(loggerOptions(level), destination) : pino(loggerOptions(level));
}

/**
 * Human-readable lines for a developer at a terminal (pino-pretty, a development dependency), JSON
 * everywhere else: log collectors parse JSON, and production images do not ship pino-pretty.
 */
export function createProcessLogger(level: string, pretty: boolean): Logger {
  if (pretty && isInstalled('pino-pretty')) {
    return pino({ ...loggerOptions(level), transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  return createLogger(level);
}

function isInstalled(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}
