/**
 * The read-only page of a share (/s/:id): the conversation as it was shared, fetched from the public
 * GET /shares/:id (no sign-in, no token sent), replies rendered as Markdown with the chat page's own
 * sanitising renderer, with their citations, sources and search suggestions. "Continue this conversation" opens the chat page, which signs in and forks.
 */
import type { components } from '../generated/api';
import { byId, h } from './dom';
import { groundingSection, renderAnswer } from './reply-extras';
import { continueUrl } from './share-rules';

type SharedConversation = components['schemas']['SharedConversation'];
type SharedMessage = SharedConversation['messages'][number];

const shareId = decodeURIComponent(location.pathname.split('/').pop() ?? '');

function attachmentsOf(message: SharedMessage): HTMLElement | false {
  if (message.attachments.length === 0) return false;
  return h(
    'ul',
    { class: 'attachments' },
    ...message.attachments.map((file) => {
      if (file.deleted) return h('li', { class: 'attachment deleted' }, `${file.name} (deleted)`);
      // Same origin, no token: the share's own file route; an image shows, anything else downloads.
      const link = h('a', { href: file.url, download: file.name }, file.name);
      return h('li', { class: 'attachment' }, file.mimeType.startsWith('image/') ? h('img', { src: file.url, alt: file.name, class: 'thumb' }) : false, link);
    }),
  );
}

function messageElement(message: SharedMessage): HTMLElement {
  const content =
    message.role === 'model'
      ? h('div', { class: 'content markdown' }, renderAnswer(message))
      : h('div', { class: 'content' }, message.content);
  return h(
    'article',
    { class: `message ${message.role}`, 'aria-label': message.role === 'user' ? 'Prompt' : 'Answer' },
    attachmentsOf(message),
    content,
    // Citations, sources and Google's suggestions as the chat page shows them (reply-extras.ts).
    message.role === 'model' && groundingSection(message),
  );
}

async function show(): Promise<void> {
  const response = await fetch(`/shares/${encodeURIComponent(shareId)}`);
  if (!response.ok) {
    byId('shared-title').textContent = 'This conversation is not shared';
    byId('shared-log').replaceChildren(h('p', { class: 'empty' }, 'The link is wrong, or its owner stopped sharing it.'));
    byId('continue').hidden = true;
    return;
  }
  const shared = (await response.json()) as SharedConversation;
  document.title = `${shared.title} (shared)`;
  byId('shared-title').textContent = shared.title;
  byId('shared-at').textContent = `Shared ${new Date(shared.sharedAt).toLocaleString()}`;
  byId('shared-log').replaceChildren(...shared.messages.map(messageElement));
  byId<HTMLAnchorElement>('continue').href = continueUrl(shareId);
}

show().catch((error: unknown) => {
  const alert = byId('alert');
  alert.replaceChildren(h('p', {}, `The conversation could not be loaded: ${String(error)}`));
  alert.hidden = false;
});
