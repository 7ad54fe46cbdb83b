import { createHmac } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { SignJWT, base64url, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { users } from '../src/infra/db/schema.js';
import { deriveAuthKeys } from '../src/modules/auth/secrets.js';
import { TEST_JWT_SECRET, startTestApp, type TestApp } from './helpers/app.js';
import { bearer, signIn, type SignedInUser } from './helpers/factories.js';

/*
 * Forged access tokens, each a way an attacker might try to get past the bearer check. Every forgery
 * starts from a real session's claims, and the control case (the same claims, signed correctly) must
 * pass: so each refusal below is about the one thing that forgery changes.
 */

let t: TestApp;
let user: SignedInUser;
const { jwt: ourKey } = deriveAuthKeys(TEST_JWT_SECRET);

beforeAll(async () => {
  t = await startTestApp();
  user = await signIn(t);
});
afterAll(() => t.close());

const me = (token: string) => t.request({ method: 'GET', url: '/user/me', headers: bearer(token) });
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as JWTPayload;
const nowSeconds = () => Math.floor(t.clock.now().getTime() / 1000);

interface Forgery {
  alg?: string;
  key?: Parameters<SignJWT['sign']>[0];
  omit?: ('exp' | 'iat')[];
  claims?: JWTPayload;
}

/** Signs the user's real claims, changed as the forgery says. */
function forge(source: SignedInUser, { alg = 'HS256', key = ourKey, omit = [], claims = {} }: Forgery = {}) {
  const real = claimsOf(source.accessToken);
  const payload: JWTPayload = {
    ...real,
    iat: nowSeconds(),
    exp: nowSeconds() + 600,
    ...claims,
  };
  for (const claim of omit) delete payload[claim];
  return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(key);
}

async function expectRefused(token: string) {
  const res = await me(token);
  expect(res.statusCode).toBe(401);
  expect(res.headers['content-type']).toContain('application/problem+json');
  expect(res.json().code).toBe('UNAUTHORIZED');
}

describe('forged access tokens', () => {
  it('control: the real claims, re-signed with our key, are accepted', async () => {
    expect((await me(await forge(user))).statusCode).toBe(200);
  });

  it('alg "none" (unsigned) is refused, with or without a signature part', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    const payload = base64url.encode(JSON.stringify({ ...claimsOf(user.accessToken), exp: nowSeconds() + 600 }));
    await expectRefused(`${header}.${payload}.`);
    await expectRefused(`${header}.${payload}`);
    await expectRefused(`${header}.${payload}.${user.accessToken.split('.')[2] ?? ''}`);
  });

  it('a token signed with another key is refused', async () => {
    await expectRefused(await forge(user, { key: new TextEncoder().encode('another-secret-that-is-also-32-bytes-long') }));
  });

  it('HS384 and HS512 with our own key are refused: the algorithm is pinned', async () => {
    await expectRefused(await forge(user, { alg: 'HS384' }));
    await expectRefused(await forge(user, { alg: 'HS512' }));
  });

  it('a wrong issuer or audience is refused', async () => {
    await expectRefused(await forge(user, { claims: { iss: 'someone-else' } }));
    await expectRefused(await forge(user, { claims: { aud: 'another-api' } }));
  });

  it('an expired token is refused, and one not valid yet (future nbf)', async () => {
    await expectRefused(await forge(user, { claims: { iat: nowSeconds() - 3600, exp: nowSeconds() - 60 } }));
    await expectRefused(await forge(user, { claims: { nbf: nowSeconds() + 3600 } }));
  });

  it('a token without exp, or without iat, is refused', async () => {
    await expectRefused(await forge(user, { omit: ['exp'] }));
    await expectRefused(await forge(user, { omit: ['iat'] }));
  });

  it('a tampered payload (another user\'s id, same signature) is refused', async () => {
    const other = await signIn(t);
    const [header, , signature] = user.accessToken.split('.');
    const swapped = base64url.encode(JSON.stringify({ ...claimsOf(user.accessToken), sub: other.id }));
    await expectRefused(`${header}.${swapped}.${signature}`);
  });

  it('a correctly signed token naming another user\'s session is refused', async () => {
    const other = await signIn(t);
    await expectRefused(await forge(user, { claims: { sid: claimsOf(other.accessToken).sid } }));
  });

  it('a header that changes how the token is read (crit, b64) is refused, even when signed with our key', async () => {
    const payload = base64url.encode(JSON.stringify({ ...claimsOf(user.accessToken), iat: nowSeconds(), exp: nowSeconds() + 600 }));
    const signed = (header: object) => {
      const input = `${base64url.encode(JSON.stringify(header))}.${payload}`;
      return `${input}.${createHmac('sha256', ourKey).update(input).digest('base64url')}`;
    };
    expect((await me(signed({ alg: 'HS256' }))).statusCode).toBe(200); // control: a header without typ is fine
    await expectRefused(signed({ alg: 'HS256', crit: ['exp'] }));
    await expectRefused(signed({ alg: 'HS256', b64: false, crit: ['b64'] }));
    await expectRefused(signed({ alg: 'HS256', b64: false }));
  });

  it('the right signature spelled another way (padding, spare bits) is refused', async () => {
    const [header, payload, signature = ''] = (await forge(user)).split('.');
    expect((await me(`${header}.${payload}.${signature}`)).statusCode).toBe(200);
    await expectRefused(`${header}.${payload}.${signature}=`);
    // 32 bytes take 43 characters with 2 spare bits in the last: flipping one decodes to the same bytes.
    const last = signature.at(-1) ?? 'A';
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet[alphabet.indexOf(last) ^ 1] ?? 'A';
    expect(Buffer.from(`${signature.slice(0, -1)}${twin}`, 'base64url')).toEqual(Buffer.from(signature, 'base64url'));
    await expectRefused(`${header}.${payload}.${signature.slice(0, -1)}${twin}`);
  });

  it('an audience list that names us is accepted; a payload that is not an object is refused', async () => {
    expect((await me(await forge(user, { claims: { aud: ['another-api', 'gemini-chat-api'] } }))).statusCode).toBe(200);
    const header = base64url.encode(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    for (const body of ['[1,2]', '"a string"', 'null', 'not json']) {
      const input = `${header}.${base64url.encode(body)}`;
      await expectRefused(`${input}.${createHmac('sha256', ourKey).update(input).digest('base64url')}`);
    }
  });

  it('a refresh token used as a bearer token is refused', async () => {
    await expectRefused(user.refreshToken);
  });

  it('the token of a user deleted behind the app\'s back is refused once the session cache lets go of it', async () => {
    const doomed = await signIn(t);
    expect((await me(doomed.accessToken)).statusCode).toBe(200);
    // Straight in the database, as an operator would: no process is told, so what one holds ages out.
    await t.container.database.db.delete(users).where(eq(users.id, doomed.id));
    t.clock.advance(t.container.config.SESSION_CACHE_TTL_SECONDS * 1000);
    await expectRefused(doomed.accessToken);
    await expectRefused(await forge(doomed));
  });
});
