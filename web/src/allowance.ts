/** The daily allowance in the header, and the way to Pro: the checkout in a new tab, then Pro once the webhook lands. */
import { allowanceLine } from './allowance-line';
import { api, type ApiError, ok } from './api';
import { storageLine } from './attachment-rules';
import type { SubscriptionStatus } from './contract';
import { byId, h } from './dom';
import { clearReport, inform, report } from './report';

const allowance = byId('allowance');
const storage = byId('storage');
const plan = byId('plan');
const upgrade = byId<HTMLButtonElement>('upgrade');

const PRO_POLL_MS = 1_500;
const PRO_WAIT_MS = 15 * 60_000;

export async function showAllowance(): Promise<SubscriptionStatus> {
  const status = await ok(api.GET('/subscription/status'));
  plan.textContent = status.tier === 'pro' ? 'Pro' : 'Basic';
  plan.className = `plan ${status.tier}`;
  allowance.textContent = allowanceLine(status.usage);
  upgrade.hidden = status.tier === 'pro';
  // API.md's storage, read with care: a server from before files has none.
  const { storage: used } = status as { storage?: { usedBytes: number; limitBytes: number } };
  storage.hidden = !used;
  storage.textContent = used ? storageLine(used) : '';
  return status;
}

/** A 429 QUOTA_EXCEEDED: say what happened, when it ends, and offer Pro. */
export function explainQuota(error: ApiError): void {
  report(`${error.message}. You have used today's prompts on the Basic plan: upgrade to Pro for a much larger allowance, or come back after the reset.`);
  upgrade.hidden = false;
  upgrade.focus();
}

/** Opens the checkout (Stripe's, or this server's simulated one) and waits for the webhook to make the user Pro. */
export async function watchForPro(): Promise<void> {
  const { checkoutUrl } = await ok(api.POST('/subscribe/pro'));
  const opened = window.open(checkoutUrl, '_blank');
  inform(
    'Finish the payment in the checkout tab; this page turns Pro as soon as the payment is confirmed.',
    ...(opened ? [] : [h('a', { href: checkoutUrl, target: '_blank', rel: 'noopener' }, 'Open the checkout')]),
  );
  upgrade.disabled = true;
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
    upgrade.disabled = false;
  }
}
