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
