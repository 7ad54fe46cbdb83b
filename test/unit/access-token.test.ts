import { createHmac, randomUUID, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAccessTokenCodec } from '../../src/modules/auth/access-token.js';
import { deriveAuthKeys } from '../../src/modules/auth/secrets.js';

/*
 * Access tokens (API.md "Authentication"): what the API signs it accepts until it expires; anything
 * altered, signed otherwise or shaped otherwise is refused (undefined), whatever it claims.
 */

const TTL_SECONDS = 900;
const key = deriveAuthKeys('a-test-secret-of-at-least-32-bytes!!').jwt;
const claims = { sub: randomUUID(), sid: randomUUID() };
const issuedAt = new Date('2026-05-01T10:00:00.000Z');
const seconds = (s: number) => new Date(issuedAt.getTime() + s * 1000);

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A token signed with `signingKey` whatever its header and payload say: what an attacker who had the key could make. */
function forge(header: unknown, payload: unknown, signingKey: KeyObject = key): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', signingKey).update(input).digest('base64url')}`;
}

const iat = Math.floor(issuedAt.getTime() / 1000);
const goodPayload = { ...claims, iss: 'gemini-chat-backend', aud: 'gemini-chat-api', iat, exp: iat + TTL_SECONDS };

describe('access tokens', () => {
  it('verify to the session and user they were signed for', () => {
    const codec = createAccessTokenCodec(key, TTL_SECONDS);
    expect(codec.verify(codec.sign(claims, issuedAt), issuedAt)).toEqual(claims);
    expect(codec.ttlSeconds).toBe(TTL_SECONDS);
  });

  it('are unique per signing, even in the same second', () => {
    const codec = createAccessTokenCodec(key, TTL_SECONDS);
    expect(codec.sign(claims, issuedAt)).not.toBe(codec.sign(claims, issuedAt));
  });

  it('work until the last second of their lifetime and are refused from the moment they expire', () => {
    const codec = createAccessTokenCodec(key, TTL_SECONDS);
    const token = codec.sign(claims, issuedAt);
    expect(codec.verify(token, seconds(TTL_SECONDS - 1))).toEqual(claims);
    expect(codec.verify(token, seconds(TTL_SECONDS))).toBeUndefined();
  });

  it('expire even after they verified once (a remembered token is checked against the clock again)', () => {
    const codec = createAccessTokenCodec(key, TTL_SECONDS);
    const token = codec.sign(claims, issuedAt);
    expect(codec.verify(token, issuedAt)).toEqual(claims);
    expect(codec.verify(token, seconds(TTL_SECONDS + 60))).toBeUndefined();
  });

  it('are refused when any part of them is altered', () => {
    const codec = createAccessTokenCodec(key, TTL_SECONDS);
    const [header, payload, signature] = codec.sign(claims, issuedAt).split('.') as [string, string, string];
    const otherUser = b64({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: randomUUID() });
    const flipped = `${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    for (const altered of [`${header}.${otherUser}.${signature}`, `${header}.${payload}.${flipped}`, `${header}.${payload}.`, `${header}.${payload}.${signature}=`]) {
      expect(codec.verify(altered, issuedAt)).toBeUndefined();
    }
  });

  it('signed under another secret are refused', () => {
    const other = createAccessTokenCodec(deriveAuthKeys('another-secret-of-at-least-32-bytes!').jwt, TTL_SECONDS);
    expect(createAccessTokenCodec(key, TTL_SECONDS).verify(other.sign(claims, issuedAt), issuedAt)).toBeUndefined();
  });

  it('naming another algorithm, or "none", are refused before their signature is read', () => {
    const codec = createAccessTokenCodec(key, TTL_SECONDS);
    expect(codec.verify(forge({ alg: 'none', typ: 'JWT' }, goodPayload), issuedAt)).toBeUndefined();
    expect(codec.verify(`${b64({ alg: 'none' })}.${b64(goodPayload)}.`, issuedAt)).toBeUndefined();
    expect(codec.verify(forge({ alg: 'HS512', typ: 'JWT' }, goodPayload), issuedAt)).toBeUndefined();
  });

  it('whose header changes what the signature covers (crit, b64) are refused; another HS256 spelling is fine', () => {
    const codec = createAccessTokenCodec(key, TTL_SECONDS);
    expect(codec.verify(forge({ alg: 'HS256', crit: ['b64'], b64: false }, goodPayload), issuedAt)).toBeUndefined();
    expect(codec.verify(forge({ typ: 'JWT', alg: 'HS256' }, goodPayload), issuedAt)).toEqual(claims);
  });

  it('without an expiry, from another issuer or for another audience are refused even when correctly signed', () => {
    const codec = createAccessTokenCodec(key, TTL_SECONDS);
    const header = { alg: 'HS256', typ: 'JWT' };
    const noExpiry: Partial<typeof goodPayload> = { ...goodPayload };
    delete noExpiry.exp;
    expect(codec.verify(forge(header, noExpiry), issuedAt)).toBeUndefined();
    expect(codec.verify(forge(header, { ...goodPayload, exp: String(goodPayload.exp) }), issuedAt)).toBeUndefined();
    expect(codec.verify(forge(header, { ...goodPayload, iss: 'someone-else' }), issuedAt)).toBeUndefined();
    expect(codec.verify(forge(header, { ...goodPayload, aud: 'another-api' }), issuedAt)).toBeUndefined();
    expect(codec.verify(forge(header, { ...goodPayload, aud: ['another-api', 'gemini-chat-api'] }), issuedAt)).toEqual(claims);
  });

  it('not valid before a time (nbf) are refused until then', () => {
    const codec = createAccessTokenCodec(key, TTL_SECONDS);
    const token = forge({ alg: 'HS256', typ: 'JWT' }, { ...goodPayload, nbf: iat + 60 });
    expect(codec.verify(token, seconds(59))).toBeUndefined();
    expect(codec.verify(token, seconds(60))).toEqual(claims);
  });

  it('whose user or session is not a UUID are refused', () => {
    const codec = createAccessTokenCodec(key, TTL_SECONDS);
    const header = { alg: 'HS256', typ: 'JWT' };
    expect(codec.verify(forge(header, { ...goodPayload, sub: "1' or '1'='1" }), issuedAt)).toBeUndefined();
    expect(codec.verify(forge(header, { ...goodPayload, sid: 42 }), issuedAt)).toBeUndefined();
  });

  it('that are not tokens at all are refused, never thrown on', () => {
    const codec = createAccessTokenCodec(key, TTL_SECONDS);
    for (const junk of ['', 'abc', 'a.b', 'a.b.c', 'a.b.c.d', '...', `${b64('[]')}.${b64('[]')}.x`, forge('not an object', goodPayload), forge({ alg: 'HS256' }, [1, 2])]) {
      expect(codec.verify(junk, issuedAt)).toBeUndefined();
    }
  });
});
