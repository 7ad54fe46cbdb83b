/** The daily allowance in the sidebar (account.tsx), and the way to Pro: the checkout in a new tab, then Pro once the webhook lands. */
import { h } from 'preact';
import { quotaNotice } from './allowance-line';
import { api, type ApiError, ok } from './api';
import type { SubscriptionStatus } from './contract';
import { clearReport, inform, report } from './report';
import { createStore } from './store';

const PRO_POLL_MS = 1_500;
const PRO_WAIT_MS = 15 * 60_000;

export interface AccountState {
  status: SubscriptionStatus | undefined;
  /** The Upgrade button is offered even to a Pro user's stale page once a 429 said so. */
  upgradeOffered: boolean;
  /** A checkout is open and the page waits for the payment. */
  waitingForPro: boolean;
  /** Bumped to move the focus to the Upgrade button (after a 429). */
  focusUpgrade: number;
}

export const account = createStore<AccountState>({ status: undefined, upgradeOffered: false, waitingForPro: false, focusUpgrade: 0 });

const change = (next: Partial<AccountState>) => account.set({ ...account.get(), ...next });

export async function showAllowance(): Promise<SubscriptionStatus> {
  const status = await ok(api.GET('/subscription/status'));
  change({ status, upgradeOffered: status.tier !== 'pro' });
  return status;
}

/** A 429 QUOTA_EXCEEDED: say what happened and when it ends (the allowance read again), and offer Pro to a Basic user. */
export async function explainQuota(error: ApiError): Promise<void> {
  const status = await showAllowance().catch(() => undefined);
  report(status ? quotaNotice(status.tier, status.usage) : `${error.message}.`);
  // A page that still thought its user Pro (a lapsed subscription) offers the upgrade too: the 429 said Basic.
  change({ upgradeOffered: status?.tier !== 'pro', focusUpgrade: account.get().focusUpgrade + 1 });
}

/** Opens the checkout (Stripe's, or this server's simulated one) and waits for the webhook to make the user Pro. */
export async function watchForPro(): Promise<void> {
  const { checkoutUrl } = await ok(api.POST('/subscribe/pro'));
  const opened = window.open(checkoutUrl, '_blank');
  inform(
    'Finish the payment in the checkout tab; this page turns Pro as soon as the payment is confirmed.',
    opened ? undefined : h('a', { href: checkoutUrl, target: '_blank', rel: 'noopener' }, 'Open the checkout'),
  );
  change({ waitingForPro: true });
  const until = Date.now() + PRO_WAIT_MS;
  try {
    while (Date.now() < until) {
      const status = await showAllowance();
      if (status.tier === 'pro') {
        inform('Welcome to Pro: your allowance is raised.');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, PRO_POLL_MS));
    }
    clearReport();
  } finally {
    change({ waitingForPro: false });
  }
}
