/** Signing in: by password, or by a one-time code; and creating an account (which answers its own first code). */
import { useRef, useState } from 'preact/hooks';
import { api, ok, saveTokens } from './api';
import type { OtpIssued } from './contract';
import { act, report } from './report';

/** The number last typed, kept for the form shown after a sign-out. */
let lastMobile = '';

/** A signup answers its own verification code (API.md); an older server answers none, and we ask for one. */
function verificationOf(body: object): OtpIssued | undefined {
  if (!('verification' in body)) return undefined;
  const verification = body.verification;
  return verification && typeof verification === 'object' && 'expiresAt' in verification ? (verification as OtpIssued) : undefined;
}

export function AuthForm({ signedIn }: { signedIn: () => Promise<void> }) {
  const [mobile, setMobile] = useState(lastMobile);
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const passwordField = useRef<HTMLInputElement>(null);
  const codeField = useRef<HTMLInputElement>(null);

  function showCode(issued: OtpIssued | undefined) {
    setNotice(
      issued?.otp
        ? `Your code is ${issued.otp} (shown here because this server has no SMS provider). It expires at ${new Date(issued.expiresAt).toLocaleTimeString()}.`
        : 'We sent you a code: type it below.',
    );
    if (issued?.otp) setCode(issued.otp);
    codeField.current?.focus();
  }

  async function signUp() {
    const body = { mobile, ...(password ? { password } : {}) };
    const created = await ok(api.POST('/auth/signup', { body }));
    showCode(verificationOf(created) ?? (await ok(api.POST('/auth/send-otp', { body: { mobile } }))));
  }

  async function sendCode() {
    showCode(await ok(api.POST('/auth/send-otp', { body: { mobile } })));
  }

  async function verifyCode() {
    saveTokens(await ok(api.POST('/auth/verify-otp', { body: { mobile, otp: code.trim() } })));
    await signedIn();
  }

  async function signIn() {
    if (!password) {
      report('Type your password, or use "Send code" to sign in with a one-time code.');
      passwordField.current?.focus();
      return;
    }
    saveTokens(await ok(api.POST('/auth/login', { body: { mobile, password } })));
    await signedIn();
  }

  return (
    <main id="auth-view" class="auth">
      <h1>Gemini Chat</h1>
      <p class="hint">
        Sign in with your mobile number and a one-time code, or your password. New here? Type your number (and a password if you like) and create an account.
      </p>
      <form
        id="auth-form"
        class="card"
        onSubmit={(event) => {
          event.preventDefault();
          act(signIn);
        }}
      >
        <label for="mobile">Mobile number</label>
        <input
          id="mobile"
          type="tel"
          autocomplete="tel"
          placeholder="+91 98765 43210"
          required
          value={mobile}
          onInput={(event) => setMobile((lastMobile = event.currentTarget.value))}
        />
        <label for="password">Password</label>
        <input
          id="password"
          type="password"
          autocomplete="current-password"
          placeholder="optional with a code"
          value={password}
          ref={passwordField}
          onInput={(event) => setPassword(event.currentTarget.value)}
        />
        <div class="row">
          <button type="submit" id="sign-in" class="primary">
            Sign in
          </button>
          <button type="button" id="send-code" onClick={() => act(sendCode)}>
            Send code
          </button>
          <button type="button" id="sign-up" onClick={() => act(signUp)}>
            Create account
          </button>
        </div>
        <p id="code-notice" class="notice" role="status" hidden={!notice}>
          {notice}
        </p>
        <label for="code">Code</label>
        <div class="row">
          <input
            id="code"
            inputMode="numeric"
            autocomplete="one-time-code"
            maxLength={6}
            pattern="[0-9]{6}"
            value={code}
            ref={codeField}
            onInput={(event) => setCode(event.currentTarget.value)}
            onKeyDown={(event) => {
              if (event.key === 'Enter') {
                event.preventDefault();
                act(verifyCode);
              }
            }}
          />
          <button type="button" id="verify" onClick={() => act(verifyCode)}>
            Verify code
          </button>
        </div>
      </form>
    </main>
  );
}
