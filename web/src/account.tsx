/** The account corner of the sidebar: who is signed in, the plan, the allowance and file storage, Upgrade and Sign out. */
import { useEffect, useRef } from 'preact/hooks';
import { account, watchForPro } from './allowance';
import { allowanceLine } from './allowance-line';
import { storageLine } from './attachment-rules';
import { act } from './report';
import { useStore } from './use-store';

export function Account({ who, signOut }: { who: string; signOut: () => void }) {
  const { status, upgradeOffered, waitingForPro, focusUpgrade } = useStore(account);
  const upgrade = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (focusUpgrade > 0) upgrade.current?.focus();
  }, [focusUpgrade]);
  // API.md's storage, read with care: a server from before files has none.
  const { storage: used } = (status ?? {}) as { storage?: { usedBytes: number; limitBytes: number } };
  return (
    <div class="account">
      <p>
        <span id="who">{who}</span> <span id="plan" class={`plan ${status?.tier ?? ''}`}>{status && (status.tier === 'pro' ? 'Pro' : 'Basic')}</span>
      </p>
      <p id="allowance" role="status">
        {status && allowanceLine(status.usage)}
      </p>
      <p id="storage" class="hint" hidden={!used}>
        {used && storageLine(used)}
      </p>
      <button type="button" id="upgrade" class="primary" hidden={!upgradeOffered} disabled={waitingForPro} ref={upgrade} onClick={() => act(watchForPro)}>
        Upgrade to Pro
      </button>{' '}
      <button type="button" id="sign-out" onClick={signOut}>
        Sign out
      </button>
    </div>
  );
}
