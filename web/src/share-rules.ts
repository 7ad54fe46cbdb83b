/** Where "Continue this conversation" leads: the chat page, told which share to fork once signed in. */
export const FORK_PARAM = 'fork';

export const continueUrl = (shareId: string) => `/?${FORK_PARAM}=${encodeURIComponent(shareId)}`;

/** The share a chat page was opened to continue, if its address names a plausible one. */
export function shareToFork(search: string): string | undefined {
  const id = new URLSearchParams(search).get(FORK_PARAM);
  return id && /^[A-Za-z0-9_-]{22}$/.test(id) ? id : undefined;
}
