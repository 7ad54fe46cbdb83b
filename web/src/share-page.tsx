/**
 * The read-only page of a share (/s/:id): the conversation as it was shared, fetched from the public
 * GET /shares/:id (no sign-in, no token sent), replies rendered as Markdown with the chat page's own
 * sanitising renderer, with their citations, sources and search suggestions. "Continue this conversation" opens the chat page, which signs in and forks.
 */
import { render } from 'preact';
import type { components } from '../generated/api';
import { AlertRegion } from './alert-region';
import { fileSummary, showsAsImage } from './attachment-rules';
import { FileChip } from './file-chip';
import { AnswerContent, GroundingSection } from './reply-extras';
import { report } from './report';
import { continueUrl } from './share-rules';

type SharedConversation = components['schemas']['SharedConversation'];
type SharedMessage = SharedConversation['messages'][number];

const shareId = decodeURIComponent(location.pathname.split('/').pop() ?? '');

function SharedAttachments({ message }: { message: SharedMessage }) {
  if (message.attachments.length === 0) return null;
  return (
    <ul class="attachments">
      {message.attachments.map((file, index) =>
        file.deleted ? (
          <li key={index} class="attachment deleted">{`${file.name} (deleted)`}</li>
        ) : showsAsImage(file.mimeType) ? (
          // Same origin, no token: the share's own file route. An image the browser draws shows (the
          // chat's rule, attachment-rules.ts); any other file, HEIC too, is a download as in the chat.
          <li key={index} class="attachment">
            <img src={file.url} alt={file.name} class="thumb" />
            <a href={file.url} download={file.name}>
              {file.name}
            </a>
          </li>
        ) : (
          <li key={index} class="attachment file">
            <a class="file-link" href={file.url} download={file.name} title={`Download ${fileSummary(file)}`}>
              <FileChip file={file} />
            </a>
          </li>
        ),
      )}
    </ul>
  );
}

function SharedMessageView({ message }: { message: SharedMessage }) {
  return (
    <article class={`message ${message.role}`} aria-label={message.role === 'user' ? 'Prompt' : 'Answer'}>
      <SharedAttachments message={message} />
      {message.role === 'model' ? <AnswerContent message={message} /> : <div class="content">{message.content || null}</div>}
      {/* Citations, sources and Google's suggestions as the chat page shows them (reply-extras.tsx). */}
      {message.role === 'model' && <GroundingSection message={message} />}
    </article>
  );
}

/** The page; `shared` undefined while loading, null when the share does not exist (or no longer). */
function SharePage({ shared }: { shared: SharedConversation | null | undefined }) {
  return (
    <>
      <AlertRegion />
      <main class="shared">
        <header class="shared-header">
          <h1 id="shared-title">{shared === null ? 'This conversation is not shared' : (shared?.title ?? 'Shared conversation')}</h1>
          <p id="shared-at" class="hint">
            {shared && `Shared ${new Date(shared.sharedAt).toLocaleString()}`}
          </p>
          <p class="hint">A read-only copy of a conversation, as it was when it was shared.</p>
        </header>
        <div id="shared-log" class="log" role="log" aria-label="Shared conversation">
          {shared === null && <p class="empty">The link is wrong, or its owner stopped sharing it.</p>}
          {shared?.messages.map((message) => <SharedMessageView key={message.id} message={message} />)}
        </div>
        <footer class="shared-footer">
          <a id="continue" class="button primary" href={continueUrl(shareId)} hidden={shared === null}>
            Continue this conversation
          </a>
          <p class="hint">Signs you in (or up) and copies the conversation, with its files, into a chat of your own.</p>
        </footer>
      </main>
    </>
  );
}

async function show(): Promise<void> {
  render(<SharePage shared={undefined} />, document.body);
  const response = await fetch(`/shares/${encodeURIComponent(shareId)}`);
  if (!response.ok) {
    render(<SharePage shared={null} />, document.body);
    return;
  }
  const shared = (await response.json()) as SharedConversation;
  document.title = `${shared.title} (shared)`;
  render(<SharePage shared={shared} />, document.body);
}

show().catch((error: unknown) => report(`The conversation could not be loaded: ${String(error)}`));
