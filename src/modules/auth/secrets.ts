import { createHash, createHmac, createSecretKey, hkdfSync, randomBytes, randomInt, timingSafeEqual, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';

/** Keys derived from JWT_SECRET, one per use, so that no key does two jobs. */
export interface AuthKeys {
  /** A KeyObject, so that jose signs and verifies with node:crypto directly instead of importing the key each time. */
  jwt: KeyObject;
  otp: Buffer;
}

export function deriveAuthKeys(secret: string): AuthKeys {
  const material = Buffer.from(secret, 'utf8');
  return {
    jwt: createSecretKey(Buffer.from(hkdfSync('sha256', material, 'gemini-chat', 'jwt-hs256', 32))),
    otp: Buffer.from(hkdfSync('sha256', material, 'gemini-chat', 'otp-hmac', 32)),
  };
}

/**
 * In development a missing JWT_SECRET is generated once and kept in DATA_DIR, so sessions survive
 * restarts. Production refuses to start without one (config.ts).
 */
export function loadOrCreateDevSecret(dataDir: string, log: FastifyBaseLogger): string {
  const path = join(dataDir, 'jwt-secret');
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(path, secret, { mode: 0o600 });
  log.warn({ path }, 'JWT_SECRET is not set: generated a development secret; set JWT_SECRET in production');
  return secret;
}

export const generateOtp = () => randomInt(0, 1_000_000).toString().padStart(6, '0');

export const hashOtp = (key: Buffer, scope: string, code: string) =>
  createHmac('sha256', key).update(`${scope}:${code}`).digest('hex');

export function constantTimeEqualHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Refresh tokens are 256 random bits: a plain SHA-256 is enough to store them safely. */
export const generateRefreshToken = () => `rt_${randomBytes(32).toString('base64url')}`;
export const hashRefreshToken = (token: string) => createHash('sha256').update(token).digest('hex');
