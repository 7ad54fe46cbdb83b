/**
 * The open chatroom's branch of messages (conversation.ts's `chat`): each message with its thoughts,
 * answer, sources, files, note and tools. Messages are keyed by id and a message that did not
 * change is not drawn again: a streaming reply's deltas redraw that reply's content alone.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { maySend, shownFilesKey } from './attachment-rules';
import type { Message } from './contract';
import { chat, regenerate, replaceMessage, send, switchBranch } from './conversation';
import { isOpen, statusNote } from './conversation-rules';
import { Feedback, isRatable } from './feedback';
import { AttachmentList, attachmentsOf, releaseHiddenImages } from './file-links';
import { memo } from './memo';
import { act } from './report';
import { AnswerContent, GroundingSection, Thoughts } from './reply-extras';
import { useStore } from './use-store';

export function ConversationLog() {
  const { conversation, streaming, found } = useStore(chat);
  const [editing, setEditing] = useState<string | undefined>(undefined);
  const log = useRef<HTMLDivElement>(null);
  const messages = conversation?.messages;
  const lastReply = messages?.at(-1)?.role === 'model' ? messages.at(-1) : undefined;
  const shownFiles = shownFilesKey(messages ?? []);

  // Another chat, or another branch: an edit under way was of a message no longer on screen.
  useEffect(() => setEditing(undefined), [conversation?.id]);
  // Once the files on screen changed, not on each streamed frame (it looks through the whole log).
  useLayoutEffect(() => {
    if (log.current) releaseHiddenImages(log.current);
  }, [shownFiles]);
  useLayoutEffect(() => {
    if (!log.current) return;
    const hit = found === undefined ? null : log.current.querySelector(`[data-message-id="${CSS.escape(found)}"]`);
    if (hit) hit.scrollIntoView({ block: 'center' });
    else log.current.scrollTop = log.current.scrollHeight;
  }, [messages, found]);

  return (
    <div id="conversation" class="log" role="log" aria-label="Conversation" ref={log}>
      {!conversation && <p class="empty">Create a chat with "New chat" to start.</p>}
      {messages?.map((message) => (
        <MessageView
          key={message.id}
          message={message}
          streaming={streaming}
          isLastReply={message === lastReply}
          found={message.id === found}
          editing={message.id === editing}
          setEditing={setEditing}
        />
      ))}
      {messages?.length === 0 && <p class="empty">Say something to begin.</p>}
    </div>
  );
}

interface MessageProps {
  message: Message;
  streaming: boolean;
  isLastReply: boolean;
  found: boolean;
  editing: boolean;
  setEditing: (messageId: string | undefined) => void;
}

/** One message; drawn again only when one of its props changed (memo). */
const MessageView = memo(function MessageView({ message, streaming, isLastReply, found, editing, setEditing }: MessageProps) {
  const note = statusNote(message);
  const files = attachmentsOf(message);
  const canEdit = message.role === 'user' && message.parentId !== undefined && !streaming;
  return (
    <article class={`message ${message.role}${found ? ' found' : ''}`} data-message-id={message.id} aria-label={message.role === 'user' ? 'You' : 'Gemini'}>
      {editing ? (
        <EditForm message={message} done={() => setEditing(undefined)} />
      ) : (
        <>
          {message.role === 'model' && <Thoughts thoughts={message.thoughts} />}
          {message.role === 'model' ? <AnswerContent message={message} /> : <div class="content">{message.content || null}</div>}
          {message.role === 'model' && <GroundingSection message={message} />}
          {files.length > 0 && <AttachmentList files={files} />}
          {note && <p class="note">{note}</p>}
          <div class="tools">
            <BranchSwitcher message={message} streaming={streaming} />
            {canEdit && (
              <button type="button" onClick={() => setEditing(message.id)}>
                Edit
              </button>
            )}
            {isLastReply && !isOpen(message) && !streaming && (
              <button type="button" onClick={() => act(() => regenerate(message))}>
                Regenerate
              </button>
            )}
            {isRatable(message) && <Feedback message={message} changed={replaceMessage} />}
          </div>
        </>
      )}
    </article>
  );
});

function BranchSwitcher({ message, streaming }: { message: Message; streaming: boolean }) {
  const siblings = message.siblingIds ?? [message.id];
  if (siblings.length < 2) return null;
  const at = siblings.indexOf(message.id);
  const go = (to: string | undefined) => () => act(() => switchBranch(to));
  const which = message.role === 'user' ? 'prompt' : 'reply';
  return (
    <span class="branches" role="group" aria-label={`Versions of this ${which}`}>
      <button type="button" class="icon" aria-label={`Previous ${which} version`} disabled={at <= 0 || streaming} onClick={go(siblings[at - 1])}>
        ‹
      </button>
      <span class="branch-position">{`${at + 1}/${siblings.length}`}</span>
      <button type="button" class="icon" aria-label={`Next ${which} version`} disabled={at >= siblings.length - 1 || streaming} onClick={go(siblings[at + 1])}>
        ›
      </button>
    </span>
  );
}

/** A prompt edited into a new branch: its text, and its files, which go again (a deleted one cannot: API.md 404). */
function EditForm({ message, done }: { message: Message; done: () => void }) {
  const [text, setText] = useState(message.content);
  const box = useRef<HTMLTextAreaElement>(null);
  useEffect(() => box.current?.focus(), []);
  const files = attachmentsOf(message);
  const carried = files.filter((file) => !file.deleted).map((file) => file.id);
  return (
    <form
      class="edit"
      onSubmit={(event) => {
        event.preventDefault();
        if (!maySend(text, carried.map(() => 'uploaded' as const))) return;
        act(async () => {
          if (await send(text, { parentId: message.parentId ?? null, attachmentIds: carried })) done();
        });
      }}
    >
      <textarea aria-label="Edited prompt" rows={3} value={text} ref={box} onInput={(event) => setText(event.currentTarget.value)} />
      {files.length > 0 && <AttachmentList files={files} />}
      <button type="submit">Send edit</button>
      <button type="button" onClick={done}>
        Cancel
      </button>
    </form>
  );
}
