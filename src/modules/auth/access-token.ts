import { createHmac, randomUUID, timingSafeEqual, type KeyObject } from 'node:crypto';
import { LRUCache } from 'lru-cache';

const ISSUER = 'gemini-chat-backend';
const AUDIENCE = 'gemini-chat-api';
/** The one header this service signs with; a token naming anything else is not ours. */
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface AccessClaims {
  sub: string;
  sid: string;
}

export interface AccessTokenCodec {
  sign(claims: AccessClaims, now: Date): string;
  /** Undefined for anything but a well-formed, unexpired HS256 token of ours. */
  verify(token: string, now: Date): AccessClaims | undefined;
  readonly ttlSeconds: number;
}

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** The header of a token we may verify: HS256 and nothing that changes how it is read. */
function acceptableHeader(encoded: string): boolean {
  if (encoded === HEADER) return true; // ours, byte for byte: the usual case needs no parsing
  try {
    const header: unknown = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
    if (typeof header !== 'object' || header === null || Array.isArray(header)) return false;
    const fields = header as Record<string, unknown>;
    // The algorithm is pinned: a token that names another (or "none") is refused before its signature
    // is read. `crit` and `b64` (RFC 7515 §4.1.11, RFC 7797) would change what the signature covers.
    return fields.alg === 'HS256' && !('crit' in fields) && !('b64' in fields);
  } catch {
    return false;
  }
}

/**
 * HS256 access tokens with node:crypto alone: an HMAC over the token, compared in constant time, and
 * the claims checked by hand. It runs on every authenticated request, where jose's WebCrypto path
 * (a promise and a key import per call) cost a tenth of the api's CPU under load.
 */
export function createAccessTokenCodec(key: KeyObject, ttlSeconds: number): AccessTokenCodec {
  const signatureOf = (signingInput: string) => createHmac('sha256', key).update(signingInput).digest('base64url');
  /**
   * Tokens that verified, with their time bounds: a client sends the same token for its whole life,
   * and the same bytes under the same key verify the same way, so only the clock is checked again.
   */
  const verified = new LRUCache<string, { claims: AccessClaims; exp: number; nbf: number | undefined }>({ max: 10_000 });
  const inTime = (bounds: { exp: number; nbf: number | undefined }, nowSeconds: number) =>
    bounds.exp > nowSeconds && (bounds.nbf === undefined || bounds.nbf <= nowSeconds);

  return {
    ttlSeconds,
    sign: ({ sub, sid }, now) => {
      const issuedAt = Math.floor(now.getTime() / 1000);
      const payload = { sid, sub, iss: ISSUER, aud: AUDIENCE, iat: issuedAt, exp: issuedAt + ttlSeconds, jti: randomUUID() };
      const signingInput = `${HEADER}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
      return `${signingInput}.${signatureOf(signingInput)}`;
    },
    verify: (token, now) => {
      const nowSeconds = Math.floor(now.getTime() / 1000);
      const known = verified.get(token);
      if (known) return inTime(known, nowSeconds) ? known.claims : undefined;
      const parts = token.split('.');
      if (parts.length !== 3) return undefined;
      const [header = '', payload = '', signature = ''] = parts;
      if (!acceptableHeader(header)) return undefined;
      // Compared as the canonical encoding: another spelling of the same bytes is not our signature.
      const expected = Buffer.from(signatureOf(`${header}.${payload}`));
      const given = Buffer.from(signature);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;

      let claims: Record<string, unknown>;
      try {
        const parsed: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
        claims = parsed as Record<string, unknown>;
      } catch {
        return undefined;
      }
      const audienceOk = claims.aud === AUDIENCE || (Array.isArray(claims.aud) && claims.aud.includes(AUDIENCE));
      // exp and iat are required: a token without exp would never die.
      if (claims.iss !== ISSUER || !audienceOk || !isNumber(claims.exp) || !isNumber(claims.iat)) return undefined;
      if (claims.nbf !== undefined && !isNumber(claims.nbf)) return undefined;
      const { sub, sid } = claims;
      if (typeof sub !== 'string' || typeof sid !== 'string' || !UUID.test(sub) || !UUID.test(sid)) return undefined;
      const bounds = { claims: { sub, sid }, exp: claims.exp, nbf: claims.nbf };
      if (!inTime(bounds, nowSeconds)) return undefined;
      verified.set(token, bounds);
      return bounds.claims;
    },
  };
}
