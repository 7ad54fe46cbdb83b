import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { bearer, json, makeMobile, sendOtp, signIn, signUp } from './helpers/factories.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  t.request({ method: 'POST', url, payload: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });

describe('signup', () => {
  it('normalises the mobile to E.164 and answers the unproved user and a signup code, without secrets', async () => {
    const local = makeMobile().slice(3); // the 10 national digits
    const res = await post('/auth/signup', { mobile: `+91 ${local.slice(0, 5)}-${local.slice(5)}`, name: 'Asha', password: 'correct horse' });
    expect(res.statusCode).toBe(201);
    const { user, verification } = res.json();
    // The password takes effect only once the number is proved.
    expect(user).toMatchObject({ mobile: `+91${local}`, name: 'Asha', email: null, hasPassword: false, tier: 'basic' });
    expect(Object.keys(user).sort()).toEqual(['createdAt', 'email', 'hasPassword', 'id', 'mobile', 'name', 'tier']);
    expect(verification).toMatchObject({ mobile: `+91${local}`, purpose: 'signup' });
    expect(verification.otp).toMatch(/^\d{6}$/);
    expect(Date.parse(verification.expiresAt) - t.clock.now().getTime()).toBe(5 * 60 * 1000);
  });

  it('takes a national number in the default region', async () => {
    const local = makeMobile().slice(3);
    const res = await post('/auth/signup', { mobile: local });
    expect(res.statusCode).toBe(201);
    expect(res.json().user.mobile).toBe(`+91${local}`);
  });

  it('refuses a proved mobile with 409 MOBILE_TAKEN, however it is written', async () => {
    const { mobile } = await signIn(t);
    const res = await post('/auth/signup', { mobile: `${mobile.slice(0, 3)} ${mobile.slice(3)}` });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'MOBILE_TAKEN', status: 409, type: 'about:blank' });
  });

  it('rejects a malformed mobile with 400 and errors[].path = "mobile"', async () => {
    const res = await post('/auth/signup', { mobile: '12345' });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'mobile' }] });
  });

  it('rejects a short password and a bad email, naming each field', async () => {
    const res = await post('/auth/signup', { mobile: makeMobile(), password: 'short', email: 'not-an-email' });
    expect(res.statusCode).toBe(400);
    const paths = res.json<{ errors: { path: string }[] }>().errors.map((e) => e.path).sort();
    expect(paths).toEqual(['email', 'password']);
  });
});

const from = (address: string) => ({
  post: (url: string, body: unknown) =>
    t.request({ method: 'POST', url, remoteAddress: address, payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
});

describe('signup proves the number (no account pre-hijacking)', () => {
  it('applies the password and email given at signup only once the signup code is verified', async () => {
    const { mobile, verification } = await signUp(t, { password: 'signup password 1', email: 'asha@example.com' });
    const early = await post('/auth/login', { mobile, password: 'signup password 1' });
    expect(early.statusCode).toBe(401);
    expect(early.json().code).toBe('INVALID_CREDENTIALS');

    const verified = await post('/auth/verify-otp', { mobile, otp: verification.otp });
    expect(verified.statusCode).toBe(200);
    expect(verified.json().user).toMatchObject({ mobile, hasPassword: true, email: 'asha@example.com' });
    expect((await post('/auth/login', { mobile, password: 'signup password 1' })).statusCode).toBe(200);
  });

  it('drops what an attacker set at signup when the owner proves the number with a login code', async () => {
    const attacker = from('203.0.113.66');
    const owner = from('198.51.100.7');
    const mobile = makeMobile();
    const hijack = await attacker.post('/auth/signup', { mobile, password: 'attacker password', email: 'evil@example.com' });
    expect(hijack.statusCode).toBe(201);
    const attackersCode = hijack.json().verification.otp as string; // in production this goes by SMS to the owner

    // The owner, who never signed up, logs in by OTP and uses the account.
    const code = (await owner.post('/auth/send-otp', { mobile })).json().otp as string;
    const session = await owner.post('/auth/verify-otp', { mobile, otp: code });
    expect(session.statusCode).toBe(200);
    expect(session.json().user).toMatchObject({ hasPassword: false, email: null });
    const ownerToken = session.json().accessToken as string;
    const room = await t.request({ method: 'POST', url: '/chatroom', headers: { ...bearer(ownerToken), 'content-type': 'application/json' }, payload: '{"title":"private"}' });
    expect(room.statusCode).toBe(201);

    // The attacker's password opens nothing, and their signup code died with the owner's proof.
    const login = await attacker.post('/auth/login', { mobile, password: 'attacker password' });
    expect(login.statusCode).toBe(401);
    expect(login.json().code).toBe('INVALID_CREDENTIALS');
    expect((await attacker.post('/auth/verify-otp', { mobile, otp: attackersCode })).statusCode).toBe(401);
    const me = await t.request({ method: 'GET', url: '/user/me', headers: bearer(ownerToken) });
    expect(me.json()).toMatchObject({ hasPassword: false, email: null });
    // And the number, now proved, cannot be signed up again.
    expect((await attacker.post('/auth/signup', { mobile, password: 'attacker password' })).statusCode).toBe(409);
  });

  it('lets an unproved number be signed up again: the registration starts over with the new details', async () => {
    const first = from('203.0.113.10');
    const second = from('198.51.100.20');
    const mobile = makeMobile();
    expect((await first.post('/auth/signup', { mobile, name: 'First', password: 'first password' })).statusCode).toBe(201);
    const again = await second.post('/auth/signup', { mobile, name: 'Second', password: 'second password' });
    expect(again.statusCode).toBe(201);
    expect(again.json().user).toMatchObject({ mobile, name: 'Second', hasPassword: false });

    const verified = await second.post('/auth/verify-otp', { mobile, otp: again.json().verification.otp });
    expect(verified.json().user).toMatchObject({ name: 'Second', hasPassword: true });
    expect((await post('/auth/login', { mobile, password: 'second password' })).statusCode).toBe(200);
    expect((await post('/auth/login', { mobile, password: 'first password' })).statusCode).toBe(401);
  });

  it('a password reset proves the number too, and only the new password works', async () => {
    const { mobile } = await signUp(t, { password: 'set by someone' });
    const reset = await sendOtp(t, mobile, '/auth/forgot-password');
    const res = await post('/auth/reset-password', { mobile, otp: reset.otp, newPassword: 'set by the owner' });
    expect(res.statusCode).toBe(200);
    expect((await post('/auth/login', { mobile, password: 'set by the owner' })).statusCode).toBe(200);
    expect((await post('/auth/login', { mobile, password: 'set by someone' })).statusCode).toBe(401);
  });
});

describe('a stranger cannot lock the owner out', () => {
  // Its own app (a database open) plus a dozen Argon2 checks: more than the default 20 s on a loaded machine.
  it('wrong passwords, wrong codes and resends from one address leave the owner, at another, able to log in', { timeout: 60_000 }, async () => {
    // The production defaults: 10 a minute per number and address, 60 per number, 30 per address and route.
    const limited = await startTestApp({
      env: { AUTH_RATE_LIMIT_PER_MINUTE: '30', AUTH_RATE_LIMIT_PER_NUMBER_PER_MINUTE: '10', AUTH_RATE_LIMIT_PER_NUMBER_CEILING_PER_MINUTE: '60' },
    });
    try {
      const user = await signIn(limited, { password: 'the owner password' });
      const at = (address: string) => (url: string, body: unknown) =>
        limited.request({ method: 'POST', url, remoteAddress: address, ...json(body) });
      const owner = at('198.51.100.7');
      const attacker = at('203.0.113.66');
      const ownersCode = (await owner('/auth/send-otp', { mobile: user.mobile })).json().otp as string;

      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        statuses.push((await attacker('/auth/login', { mobile: user.mobile, password: `wrong password ${i}` })).statusCode);
        statuses.push((await attacker('/auth/verify-otp', { mobile: user.mobile, otp: String(100000 + i) })).statusCode);
        statuses.push((await attacker('/auth/send-otp', { mobile: user.mobile })).statusCode);
        limited.clock.advance(31_000); // past the resend cooldown each round
      }
      expect(statuses).toContain(429); // the attacker is slowed down…

      // …and the owner is not: the right password, and the code they asked for before the attacker's resends.
      const login = await owner('/auth/login', { mobile: user.mobile, password: 'the owner password' });
      expect(login.statusCode, login.body).toBe(200);
      limited.clock.advance(-12 * 31_000 + 60_000); // the owner's code is a minute old
      const verified = await owner('/auth/verify-otp', { mobile: user.mobile, otp: ownersCode });
      expect(verified.statusCode, verified.body).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('wrong guesses from one address do not use up the tries of a code another address holds', async () => {
    const { mobile } = await signUp(t);
    const owner = from('198.51.100.8');
    const attacker = from('203.0.113.67');
    const code = (await owner.post('/auth/send-otp', { mobile })).json().otp as string;
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 8; i++) expect((await attacker.post('/auth/verify-otp', { mobile, otp: wrong })).json().code).toBe('OTP_INVALID');
    expect((await owner.post('/auth/verify-otp', { mobile, otp: code })).statusCode).toBe(200);
  });
});

describe('OTP guesses are bounded over hours and days', () => {
  it('one address gets at most 30 guesses an hour for a number, however many new codes it asks for', async () => {
    const { mobile } = await signUp(t);
    const attacker = from('203.0.113.68');
    let checked = 0;
    let limitedAt: number | undefined;
    for (let round = 0; round < 10 && limitedAt === undefined; round++) {
      await attacker.post(round % 2 ? '/auth/forgot-password' : '/auth/send-otp', { mobile });
      t.clock.advance(31_000);
      for (let i = 0; i < 5; i++) {
        const url = round % 2 ? '/auth/reset-password' : '/auth/verify-otp';
        const res = await attacker.post(url, { mobile, otp: '000000', newPassword: 'not going to happen' });
        if (res.statusCode === 429 && res.json().code === 'RATE_LIMITED') {
          limitedAt = checked;
          expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
          break;
        }
        checked++;
      }
    }
    // Each new code used to reset the count: 10 codes were 50 guesses. Now both purposes share one bound.
    expect(limitedAt).toBe(30);
    // The owner, from another address, still verifies their code.
    const owner = from('198.51.100.9');
    const code = (await owner.post('/auth/send-otp', { mobile })).json().otp as string;
    expect((await owner.post('/auth/verify-otp', { mobile, otp: code })).statusCode).toBe(200);
  });

  it('all addresses together get at most 100 guesses an hour for a number', async () => {
    const { mobile } = await signUp(t);
    let accepted = 0;
    let refused = 0;
    for (let address = 0; address < 5; address++) {
      const attacker = from(`203.0.113.${100 + address}`);
      for (let i = 0; i < 25; i++) {
        const res = await attacker.post('/auth/verify-otp', { mobile, otp: '000000' });
        if (res.json().code === 'RATE_LIMITED') refused++;
        else accepted++;
      }
    }
    expect(accepted).toBe(100);
    expect(refused).toBe(25);
  });
});

describe('OTP login', () => {
  it('sends a 6-digit code valid for 5 minutes and logs in with it once', async () => {
    const { mobile } = await signUp(t);
    const sent = await sendOtp(t, mobile);
    expect(sent).toMatchObject({ mobile, purpose: 'login' });
    expect(sent.otp).toMatch(/^\d{6}$/);
    expect(Date.parse(sent.expiresAt) - t.clock.now().getTime()).toBe(5 * 60 * 1000);

    const first = await post('/auth/verify-otp', { mobile, otp: sent.otp });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, user: { mobile } });

    const again = await post('/auth/verify-otp', { mobile, otp: sent.otp });
    expect(again.statusCode).toBe(401);
    expect(again.json().code).toBe('OTP_INVALID');
  });

  it('answers 404 USER_NOT_FOUND for a number that never signed up', async () => {
    const res = await post('/auth/send-otp', { mobile: makeMobile() });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('USER_NOT_FOUND');
  });

  it('holds a 30 s cooldown per number with Retry-After, then replaces the old code', async () => {
    const { mobile } = await signUp(t);
    const first = await sendOtp(t, mobile);
    t.clock.advance(10_000);
    const early = await post('/auth/send-otp', { mobile });
    expect(early.statusCode).toBe(429);
    expect(early.json().code).toBe('OTP_COOLDOWN');
    expect(early.headers['retry-after']).toBe('20');

    t.clock.advance(20_000);
    const second = await sendOtp(t, mobile);
    const old = first.otp === second.otp ? null : await post('/auth/verify-otp', { mobile, otp: first.otp });
    if (old) expect(old.json().code).toBe('OTP_INVALID');
    const ok = await post('/auth/verify-otp', { mobile, otp: second.otp });
    expect(ok.statusCode).toBe(200);
  });

  it('refuses an expired code with 401 OTP_EXPIRED', async () => {
    const { mobile } = await signUp(t);
    const { otp } = await sendOtp(t, mobile);
    t.clock.advance(5 * 60 * 1000 + 1);
    const res = await post('/auth/verify-otp', { mobile, otp });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('OTP_EXPIRED');
  });

  it('stops brute force at the 5th wrong code: the right code no longer works', async () => {
    const { mobile } = await signUp(t);
    const { otp } = await sendOtp(t, mobile);
    const wrong = otp === '000000' ? '111111' : '000000';
    for (let i = 1; i <= 4; i++) {
      const res = await post('/auth/verify-otp', { mobile, otp: wrong });
      expect(res.statusCode, `try ${i}`).toBe(401);
      expect(res.json().code).toBe('OTP_INVALID');
    }
    const fifth = await post('/auth/verify-otp', { mobile, otp: wrong });
    expect(fifth.statusCode).toBe(429);
    expect(fifth.json().code).toBe('OTP_ATTEMPTS_EXCEEDED');
    const right = await post('/auth/verify-otp', { mobile, otp });
    expect(right.statusCode).toBe(429);
    expect(right.json().code).toBe('OTP_ATTEMPTS_EXCEEDED');
  });

  it('counts parallel guesses atomically: 20 at once still allow only 5 tries', async () => {
    const { mobile } = await signUp(t);
    const { otp } = await sendOtp(t, mobile);
    const wrong = otp === '000000' ? '111111' : '000000';
    const results = await Promise.all(Array.from({ length: 20 }, () => post('/auth/verify-otp', { mobile, otp: wrong })));
    expect(results.filter((r) => r.json().code === 'OTP_INVALID')).toHaveLength(4);
    expect((await post('/auth/verify-otp', { mobile, otp })).json().code).toBe('OTP_ATTEMPTS_EXCEEDED');
  });

  it('does not accept a login code for a password reset', async () => {
    const { mobile } = await signUp(t);
    const { otp } = await sendOtp(t, mobile);
    const res = await post('/auth/reset-password', { mobile, otp, newPassword: 'a brand new password' });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('OTP_INVALID');
  });

  it('rejects a code that is not 6 digits as a validation error', async () => {
    const res = await post('/auth/verify-otp', { mobile: makeMobile(), otp: '12ab' });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].path).toBe('otp');
  });
});

describe('password login, reset and change', () => {
  it('logs in with the right password and refuses a wrong one or an unknown number alike', async () => {
    const { mobile } = await signIn(t, { password: 'correct horse battery' });
    expect((await post('/auth/login', { mobile, password: 'correct horse battery' })).statusCode).toBe(200);
    const wrong = await post('/auth/login', { mobile, password: 'incorrect horse' });
    const unknown = await post('/auth/login', { mobile: makeMobile(), password: 'incorrect horse' });
    expect([wrong.statusCode, unknown.statusCode]).toEqual([401, 401]);
    expect(wrong.json().code).toBe('INVALID_CREDENTIALS');
    expect(unknown.json().code).toBe('INVALID_CREDENTIALS');
    expect(wrong.json().detail).toBe(unknown.json().detail);
  });

  it('refuses a password login for an OTP-only account', async () => {
    const { mobile } = await signIn(t);
    const res = await post('/auth/login', { mobile, password: 'anything at all' });
    expect(res.json().code).toBe('INVALID_CREDENTIALS');
  });

  it('resets the password with a password_reset code and ends every earlier session', async () => {
    const user = await signIn(t, { password: 'the old password' });
    const sent = await sendOtp(t, user.mobile, '/auth/forgot-password');
    expect(sent.purpose).toBe('password_reset');
    const res = await post('/auth/reset-password', { mobile: user.mobile, otp: sent.otp, newPassword: 'the new password' });
    expect(res.statusCode).toBe(200);
    expect(res.json().user.hasPassword).toBe(true);

    expect((await t.request({ method: 'GET', url: '/user/me', headers: bearer(user.accessToken) })).statusCode).toBe(401);
    expect((await post('/auth/refresh', { refreshToken: user.refreshToken })).statusCode).toBe(401);
    expect((await post('/auth/login', { mobile: user.mobile, password: 'the old password' })).statusCode).toBe(401);
    expect((await post('/auth/login', { mobile: user.mobile, password: 'the new password' })).statusCode).toBe(200);
    const fresh = res.json().accessToken as string;
    expect((await t.request({ method: 'GET', url: '/user/me', headers: bearer(fresh) })).statusCode).toBe(200);
  });

  it('changes the password: old access tokens get 401, the new pair works', async () => {
    const user = await signIn(t, { password: 'first password' });
    const other = await post('/auth/login', { mobile: user.mobile, password: 'first password' });
    const otherDevice = other.json().accessToken as string;

    const wrong = await post('/auth/change-password', { currentPassword: 'not it at all', newPassword: 'second password' }, bearer(user.accessToken));
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().code).toBe('WRONG_PASSWORD');

    const missing = await post('/auth/change-password', { newPassword: 'second password' }, bearer(user.accessToken));
    expect(missing.statusCode).toBe(400);
    expect(missing.json().errors[0].path).toBe('currentPassword');

    const res = await post('/auth/change-password', { currentPassword: 'first password', newPassword: 'second password' }, bearer(user.accessToken));
    expect(res.statusCode).toBe(200);
    for (const old of [user.accessToken, otherDevice]) {
      const me = await t.request({ method: 'GET', url: '/user/me', headers: bearer(old) });
      expect(me.statusCode).toBe(401);
      expect(me.json().code).toBe('UNAUTHORIZED');
    }
    const me = await t.request({ method: 'GET', url: '/user/me', headers: bearer(res.json().accessToken) });
    expect(me.statusCode).toBe(200);
  });

  it('lets only one of several parallel password changes on one session succeed', async () => {
    const user = await signIn(t, { password: 'parallel start' });
    const results = await Promise.all(
      ['parallel one', 'parallel two', 'parallel three'].map((newPassword) =>
        post('/auth/change-password', { currentPassword: 'parallel start', newPassword }, bearer(user.accessToken)),
      ),
    );
    const won = results.filter((r) => r.statusCode === 200);
    expect(won).toHaveLength(1);
    expect(results.filter((r) => r.statusCode === 401)).toHaveLength(2);
    const me = await t.request({ method: 'GET', url: '/user/me', headers: bearer(won[0]?.json().accessToken) });
    expect(me.statusCode).toBe(200); // the tokens a 200 hands out work
  });

  it('lets an OTP-only user set a first password without currentPassword', async () => {
    const user = await signIn(t);
    const res = await post('/auth/change-password', { newPassword: 'my first password' }, bearer(user.accessToken));
    expect(res.statusCode).toBe(200);
    expect(res.json().user.hasPassword).toBe(true);
  });
});

describe('refresh and logout', () => {
  it('rotates the refresh token; reusing a spent one revokes the whole session', async () => {
    const user = await signIn(t);
    const first = await post('/auth/refresh', { refreshToken: user.refreshToken });
    expect(first.statusCode).toBe(200);
    const rotated = first.json<{ refreshToken: string; accessToken: string }>();
    expect(rotated.refreshToken).not.toBe(user.refreshToken);

    const reuse = await post('/auth/refresh', { refreshToken: user.refreshToken });
    expect(reuse.statusCode).toBe(401);
    expect(reuse.json().code).toBe('UNAUTHORIZED');
    // The thief's use revoked the session: the rotated token and its access token are dead too.
    expect((await post('/auth/refresh', { refreshToken: rotated.refreshToken })).statusCode).toBe(401);
    expect((await t.request({ method: 'GET', url: '/user/me', headers: bearer(rotated.accessToken) })).statusCode).toBe(401);
  });

  it('refuses an unknown refresh token', async () => {
    const res = await post('/auth/refresh', { refreshToken: 'rt_nonsense' });
    expect(res.statusCode).toBe(401);
  });

  it('logout ends the session: its access and refresh tokens stop working', async () => {
    const user = await signIn(t);
    const res = await t.request({ method: 'POST', url: '/auth/logout', headers: bearer(user.accessToken) });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect((await t.request({ method: 'GET', url: '/user/me', headers: bearer(user.accessToken) })).statusCode).toBe(401);
    expect((await post('/auth/refresh', { refreshToken: user.refreshToken })).statusCode).toBe(401);
  });

  it('logout only ends the current session, not the user\'s others', async () => {
    const user = await signIn(t, { password: 'two devices here' });
    const second = (await post('/auth/login', { mobile: user.mobile, password: 'two devices here' })).json().accessToken as string;
    await t.request({ method: 'POST', url: '/auth/logout', headers: bearer(user.accessToken) });
    expect((await t.request({ method: 'GET', url: '/user/me', headers: bearer(second) })).statusCode).toBe(200);
  });
});

describe('GET /user/me', () => {
  it('returns the caller', async () => {
    const user = await signIn(t);
    const res = await t.request({ method: 'GET', url: '/user/me', headers: bearer(user.accessToken) });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: user.id, mobile: user.mobile, tier: 'basic', hasPassword: false });
    const lowercase = await t.request({ method: 'GET', url: '/user/me', headers: { authorization: `bearer ${user.accessToken}` } });
    expect(lowercase.statusCode).toBe(200); // the auth scheme is case-insensitive
  });

  it('answers 401 UNAUTHORIZED without a token or with a malformed header', async () => {
    for (const headers of [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer' }]) {
      const res = await t.request({ method: 'GET', url: '/user/me', headers });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    }
  });
});

describe('rate limits', () => {
  it('answers 429 RATE_LIMITED past the per-number limit', async () => {
    const limited = await startTestApp({ env: { AUTH_RATE_LIMIT_PER_NUMBER_PER_MINUTE: '3' } });
    try {
      const mobile = makeMobile();
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await limited.request({ method: 'POST', url: '/auth/login', ...json({ mobile, password: 'whatever it is' }) });
        codes.push(res.statusCode);
        if (res.statusCode === 429) expect(res.json().code).toBe('RATE_LIMITED');
      }
      expect(codes).toEqual([401, 401, 401, 429]);
      // Another number from the same address is not affected by the per-number limit.
      const other = await limited.request({ method: 'POST', url: '/auth/login', ...json({ mobile: makeMobile(), password: 'whatever it is' }) });
      expect(other.statusCode).toBe(401);
    } finally {
      await limited.close();
    }
  });

  it('behind one trusted proxy (TRUST_PROXY=1) limits the address the proxy saw, not one the client wrote', async () => {
    const limited = await startTestApp({ env: { AUTH_RATE_LIMIT_PER_MINUTE: '1', TRUST_PROXY: '1' } });
    try {
      const codes = [];
      for (const spoofed of ['6.6.6.6', '7.7.7.7']) {
        const res = await limited.request({
          method: 'POST',
          url: '/auth/refresh',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': `${spoofed}, 203.0.113.9` },
          payload: JSON.stringify({ refreshToken: 'rt_x' }),
        });
        codes.push(res.statusCode);
      }
      expect(codes).toEqual([401, 429]);
    } finally {
      await limited.close();
    }
  });

  it('answers 429 RATE_LIMITED past the per-IP limit', async () => {
    const limited = await startTestApp({ env: { AUTH_RATE_LIMIT_PER_MINUTE: '2' } });
    try {
      const codes = [];
      for (let i = 0; i < 3; i++) {
        codes.push((await limited.request({ method: 'POST', url: '/auth/refresh', ...json({ refreshToken: 'rt_x' }) })).statusCode);
      }
      expect(codes).toEqual([401, 401, 429]);
    } finally {
      await limited.close();
    }
  });
});
