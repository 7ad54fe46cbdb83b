/**
 * The open chat: its title and tools (settings, sharing, export), the conversation, and the
 * composer. Files dropped anywhere on it join the prompt (attachments.ts).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { announce, offerFiles } from './attachments';
import { Composer } from './composer';
import { exportAs, openChatId, openChatTitle } from './conversation';
import { ConversationLog } from './conversation-log';
import { act } from './report';
import { SettingsPanel } from './settings-panel';
import { SharePanel } from './share-panel';
import { useStore } from './use-store';

const carriesFiles = (event: DragEvent) => event.dataTransfer?.types.includes('Files') ?? false;

/** Reads the chat's id and title alone: a streamed reply redraws the log, not the pane or its header. */
export function ChatPane() {
  const id = useStore(openChatId);
  const title = useStore(openChatTitle);
  const pane = useRef<HTMLElement>(null);
  const [dropping, setDropping] = useState(false);
  const open = id !== undefined;

  useEffect(() => {
    const zone = pane.current;
    if (!zone) return;
    const intoComposer = (event: Event) => open && event.target instanceof Node && zone.contains(event.target);
    // Entering and leaving children fire enter/leave pairs: the hint is up while any is open.
    let depth = 0;
    const hint = (shown: boolean) => {
      if (shown && depth === 1) announce('Drop the files to attach them to your prompt.');
      setDropping(shown);
    };
    const enter = (event: DragEvent) => {
      if (!carriesFiles(event) || !open) return;
      depth += 1;
      hint(true);
    };
    const leave = (event: DragEvent) => {
      if (!carriesFiles(event) || !open) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) hint(false);
    };
    // Anywhere on the page, a dropped file must not replace the page with itself.
    const over = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = intoComposer(event) ? 'copy' : 'none';
    };
    const drop = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      depth = 0;
      hint(false);
      if (intoComposer(event)) offerFiles([...(event.dataTransfer?.files ?? [])]);
    };
    zone.addEventListener('dragenter', enter);
    zone.addEventListener('dragleave', leave);
    document.addEventListener('dragover', over);
    document.addEventListener('drop', drop);
    return () => {
      zone.removeEventListener('dragenter', enter);
      zone.removeEventListener('dragleave', leave);
      document.removeEventListener('dragover', over);
      document.removeEventListener('drop', drop);
    };
  }, [open]);

  return (
    <main id="chat-pane" class="pane" ref={pane}>
      <header>
        <h2 id="room-title">{title ?? 'No chat open'}</h2>
        <div id="room-tools" class="row" hidden={!open}>
          <SettingsPanel key={id} />
          <SharePanel key={id} chatroomId={id} />
          <button type="button" id="export-markdown" onClick={() => act(() => exportAs('markdown'))}>
            Export Markdown
          </button>
          <button type="button" id="export-json" onClick={() => act(() => exportAs('json'))}>
            Export JSON
          </button>
        </div>
      </header>
      <ConversationLog />
      <div id="drop-hint" class="drop-hint" aria-hidden="true" hidden={!dropping}>
        Drop the files to attach them to your prompt
      </div>
      <Composer />
    </main>
  );
}
