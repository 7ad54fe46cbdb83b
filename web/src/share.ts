/**
 * Continuing a shared conversation: the share page's "Continue this conversation" opens this page
 * with ?fork=<shareId>; once signed in, the share is forked into a chat of the user's, which opens.
 * (The Share panel of the open chat is share-panel.tsx.)
 */
import { api, loadTokens, ok } from './api';
import { inform } from './report';
import { shareToFork } from './share-rules';

/** Kept across a reload during sign-in (a sign-out clears sessionStorage, not the module's copy). */
const PENDING_FORK_KEY = 'gemini-chat.fork';

let pendingFork: string | undefined;

/** Remembers the share this page was opened to continue, and says what to do when not signed in. */
export function startSharing(): void {
  pendingFork = shareToFork(location.search) ?? sessionStorage.getItem(PENDING_FORK_KEY) ?? undefined;
  if (pendingFork) {
    sessionStorage.setItem(PENDING_FORK_KEY, pendingFork);
    history.replaceState(null, '', '/');
    if (!loadTokens()) inform('Sign in, or create an account, to continue the shared conversation in a chat of your own.');
  }
}

/**
 * Forks the share this page was opened to continue, once signed in: the new chat's id, or
 * undefined when there is none to fork. Asked once: a failed fork is reported, not retried.
 */
export async function forkPendingShare(): Promise<string | undefined> {
  const shareId = pendingFork;
  if (!shareId) return undefined;
  pendingFork = undefined;
  sessionStorage.removeItem(PENDING_FORK_KEY);
  const forked = await ok(api.POST('/shares/{shareId}/fork', { params: { path: { shareId } } }));
  inform('The shared conversation is now a chat of your own: carry on below.');
  return forked.id;
}
