/**
 * Sharing on the chat page: the Share panel of the open chat (create a link, copy it, list and revoke
 * the chat's links), and continuing a shared conversation: the share page's "Continue this
 * conversation" opens this page with ?fork=<shareId>; once signed in, the share is forked into a
 * chat of the user's, which opens.
 */
import { api, loadTokens, ok } from './api';
import type { ApiPaths } from './contract';
import { byId, h } from './dom';
import { act, inform } from './report';
import { shareToFork } from './share-rules';

type Share = ApiPaths['/chatroom/{id}/shares']['get']['responses']['200']['content']['application/json']['items'][number];

/** Kept across a reload during sign-in (a sign-out clears sessionStorage, not the module's copy). */
const PENDING_FORK_KEY = 'gemini-chat.fork';
const COPIED_LABEL_MS = 1_500;

const panel = byId<HTMLDetailsElement>('sharing');
const links = byId('share-links');
const latest = byId('share-latest');

let roomOf: () => string | undefined = () => undefined;
let pendingFork: string | undefined;

export function startSharing(currentRoom: () => string | undefined): void {
  roomOf = currentRoom;
  panel.addEventListener('toggle', () => {
    if (panel.open) act(loadShares);
  });
  byId('create-share').addEventListener('click', () => act(createShare));

  pendingFork = shareToFork(location.search) ?? sessionStorage.getItem(PENDING_FORK_KEY) ?? undefined;
  if (pendingFork) {
    sessionStorage.setItem(PENDING_FORK_KEY, pendingFork);
    history.replaceState(null, '', '/');
    if (!loadTokens()) inform('Sign in, or create an account, to continue the shared conversation in a chat of your own.');
  }
}

/** Another chat was opened: the panel's links were the last one's. */
export function resetSharing(): void {
  panel.open = false;
  links.replaceChildren();
  latest.replaceChildren();
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

function requireRoom(): string {
  const room = roomOf();
  if (!room) throw new Error('Open a chat first');
  return room;
}

async function loadShares() {
  const id = requireRoom();
  const page = await ok(api.GET('/chatroom/{id}/shares', { params: { path: { id }, query: { limit: 100 } } }));
  if (roomOf() !== id) return; // another chat was opened meanwhile
  links.replaceChildren(...(page.items.length === 0 ? [h('li', { class: 'empty' }, 'No links yet.')] : page.items.map(linkItem)));
}

function linkItem(share: Share): HTMLLIElement {
  const copy = h('button', { type: 'button', 'aria-label': `Copy link ${share.url}` }, 'Copy');
  copy.addEventListener('click', () => void copyLink(share.url, copy));
  return h(
    'li',
    { class: 'share-link' },
    h('a', { href: share.url, target: '_blank', rel: 'noopener noreferrer' }, share.url),
    h('span', { class: 'hint' }, `${share.messageCount} messages, ${new Date(share.createdAt).toLocaleString()}`),
    h('span', { class: 'row' }, copy, h('button', { type: 'button', 'aria-label': `Revoke link ${share.url}`, onclick: () => act(() => revoke(share)) }, 'Revoke')),
  );
}

async function createShare() {
  const id = requireRoom();
  const share = await ok(api.POST('/chatroom/{id}/shares', { params: { path: { id } } }));
  const field = h('input', { type: 'text', readonly: true, value: share.url, 'aria-label': 'Share link' });
  const copy = h('button', { type: 'button' }, 'Copy link');
  copy.addEventListener('click', () => void copyLink(share.url, copy, field));
  latest.replaceChildren(h('div', { class: 'row' }, field, copy));
  field.select();
  await loadShares();
}

async function revoke(share: Share) {
  await ok(api.DELETE('/chatroom/{id}/shares/{shareId}', { params: { path: { id: share.chatroomId, shareId: share.id } } }));
  if (latest.querySelector('input')?.value === share.url) latest.replaceChildren();
  await loadShares();
}

async function copyLink(url: string, button: HTMLButtonElement, field?: HTMLInputElement) {
  const label = button.textContent;
  try {
    // navigator.clipboard exists on https and localhost only; elsewhere the link is selected for Ctrl+C.
    await navigator.clipboard.writeText(url);
    button.textContent = 'Copied';
  } catch {
    field?.select();
    button.textContent = 'Press Ctrl+C';
  }
  setTimeout(() => (button.textContent = label), COPIED_LABEL_MS);
}
