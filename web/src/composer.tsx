/**
 * The prompt box of the open chat, with the files of the prompt (attachments.ts): the Attach button
 * and its file picker, a paste of files into the box, and the files waiting to go, each a thumbnail
 * or a chip with its progress, its error and a button to remove it. Send waits for the reply being
 * streamed and for the uploads; Stop stops the reply. (A drop of files is the pane's: chat-pane.tsx.)
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { formatSize } from '../../src/shared/byte-size.js';
import { maySend, pasteAttaches, typeBadge } from './attachment-rules';
import { attachmentStates, filesStatus, offerFiles, pendingFiles, removeAttachment, settleAttachments, takeAttachments, type Pending } from './attachments';
import { openChatId, replyStreaming, send, stop } from './conversation';
import { act } from './report';
import { useStore } from './use-store';

const ACCEPTED_FILES =
  'image/png,image/jpeg,image/webp,image/heic,image/heif,application/pdf,audio/*,text/plain,text/markdown,text/csv,.md,.csv,.txt,.heic,.heif';

export function Composer() {
  // Whether a chat is open and a reply streams, not the chat itself: the box is not drawn again for each streamed frame.
  const open = useStore(openChatId) !== undefined;
  const streaming = useStore(replyStreaming);
  const files = useStore(pendingFiles);
  const status = useStore(filesStatus);
  const [text, setText] = useState('');
  const form = useRef<HTMLFormElement>(null);
  const picker = useRef<HTMLInputElement>(null);
  const attachButton = useRef<HTMLButtonElement>(null);
  const list = useRef<HTMLUListElement>(null);
  /** After a removal: the position in the list whose remove button takes the focus. */
  const [focusAt, setFocusAt] = useState<number | undefined>(undefined);

  useEffect(() => {
    if (focusAt === undefined) return;
    setFocusAt(undefined);
    // Focus stays in the list (the next file's remove button), or goes back to the Attach button.
    const buttons = list.current?.querySelectorAll<HTMLButtonElement>('button.remove') ?? [];
    (buttons[Math.min(focusAt, buttons.length - 1)] ?? attachButton.current)?.focus();
  }, [focusAt]);

  const uploading = attachmentStates(files).includes('uploading');

  const submit = (event: Event) => {
    event.preventDefault();
    const content = text.trim();
    if (!maySend(content, attachmentStates())) return;
    setText('');
    const taken = takeAttachments();
    act(async () => {
      // A prompt that was not sent goes back in the box, its files too, to send again (after an upgrade, say).
      const sent = await send(content, { attachmentIds: taken.ids });
      if (!sent) setText((now) => now || content);
      settleAttachments(taken, sent);
    });
  };

  return (
    <form id="composer" class="composer" hidden={!open} ref={form} onSubmit={submit}>
      <ul id="pending-files" class="pending-files" aria-label="Files to send" hidden={files.length === 0} ref={list}>
        {files.map((item, at) => (
          <PendingFile
            key={item.id}
            item={item}
            remove={() => {
              removeAttachment(item);
              setFocusAt(at);
            }}
          />
        ))}
      </ul>
      <div class="composer-row">
        <button type="button" id="attach" aria-label="Attach files" aria-describedby="attach-hint" title="Attach files" ref={attachButton} onClick={() => picker.current?.click()}>
          Attach
        </button>
        <input
          id="file-picker"
          type="file"
          multiple
          hidden
          tabIndex={-1}
          aria-hidden="true"
          accept={ACCEPTED_FILES}
          ref={picker}
          onChange={(event) => {
            const chooser = event.currentTarget;
            offerFiles([...(chooser.files ?? [])]);
            chooser.value = ''; // the same file chosen again is a change again
          }}
        />
        <label for="message" class="visually-hidden">
          Message
        </label>
        <textarea
          id="message"
          rows={2}
          maxLength={8000}
          placeholder="Message Gemini (Enter sends, Shift+Enter for a new line)"
          value={text}
          onInput={(event) => setText(event.currentTarget.value)}
          onKeyDown={(event) => {
            if (event.key === 'Enter' && !event.shiftKey) {
              event.preventDefault();
              form.current?.requestSubmit();
            }
          }}
          onPaste={(event) => {
            const data = event.clipboardData;
            if (!data || !pasteAttaches([...data.types], data.files.length)) return;
            event.preventDefault();
            offerFiles([...data.files]);
          }}
        />
        <button type="submit" id="send" class="primary" disabled={streaming || uploading} title={uploading ? 'Waiting for the files to finish uploading' : ''}>
          Send
        </button>
        <button type="button" id="stop" hidden={!streaming} onClick={() => act(stop)}>
          Stop
        </button>
      </div>
      <p id="attach-hint" class="visually-hidden">
        Up to 10 images, PDFs, audio or text files. You can also drop files on the chat or paste them into the message box.
      </p>
      <p id="files-status" class="visually-hidden" role="status">
        {status}
      </p>
    </form>
  );
}

function PendingFile({ item, remove }: { item: Pending; remove: () => void }) {
  const [broken, setBroken] = useState(false);
  const name = item.stored?.name ?? item.file.name;
  const type = item.stored?.mimeType ?? item.file.type;
  const size = item.stored?.sizeBytes ?? item.file.size;
  const badge = (
    <span class="badge" aria-hidden="true">
      {typeBadge(type)}
    </span>
  );
  return (
    <li class={`pending-file ${item.state}`}>
      {/* A type the browser cannot draw after all (it said image/…): the chip then. */}
      {item.preview && !broken ? <img class="thumbnail" src={item.preview} alt={name} onError={() => setBroken(true)} /> : badge}
      <span class="file-facts">
        <span class="file-name" title={name}>
          {name}
        </span>
        <span class="file-meta">{[type, formatSize(size)].filter(Boolean).join(' · ')}</span>
        {/* All bytes sent: the server is still reading them (type, storage), for an unknown while. */}
        {item.state === 'uploading' &&
          (item.progress >= 1 ? <progress key="reading" max={1} aria-label={`Uploading ${name}`} /> : <progress key="sending" max={1} value={item.progress} aria-label={`Uploading ${name}`} />)}
        {item.state === 'failed' && <span class="file-error">{item.error ?? 'The upload failed'}</span>}
      </span>
      <button type="button" class="icon remove" aria-label={`Remove ${name}`} title="Remove" onClick={remove}>
        ✕
      </button>
    </li>
  );
}
