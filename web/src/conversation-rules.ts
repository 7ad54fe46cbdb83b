/**
 * The open chatroom's rules that need no page: what a message's note says, where a streamed message
 * goes in the branch, which stream to resume, what an export is called. No imports, so that the
 * unit tests run them in Node (contract.ts's Message fits these shapes).
 */

/** What these rules read of a message. */
export interface BranchMessage {
  id: string;
  role: 'user' | 'model';
  status: 'pending' | 'streaming' | 'done' | 'failed';
  content: string;
  parentId?: string | null;
  finishReason: string | null;
  error: { message: string } | null;
}

/** The reply being streamed, kept for the next page load: a reload reconnects after `lastEventId`. */
export interface Resume {
  chatroomId: string;
  replyId: string;
  lastEventId: string | undefined;
  /** The text received up to lastEventId: the resumed stream sends only what follows. */
  text: string;
  /** The thoughts received up to lastEventId, likewise (absent in what older pages saved). */
  thoughts?: string;
}

export const isOpen = (message: Pick<BranchMessage, 'status'>) => message.status === 'pending' || message.status === 'streaming';

/** The line under a reply that did not simply finish; none for prompts and finished replies. */
export function statusNote(message: BranchMessage): string | undefined {
  if (message.role === 'user') return undefined;
  if (message.status === 'failed') return `Failed: ${message.error?.message ?? 'the model did not reply'}`;
  if (message.finishReason === 'STOPPED') return 'Stopped';
  if (isOpen(message) && message.content === '') return 'Thinking…';
  return undefined;
}

/** The branch with a message the stream announced: after its parent, dropping the branch it replaces. */
export function placeMessage<M extends Pick<BranchMessage, 'id' | 'parentId'>>(branch: M[], message: M): M[] {
  const messages = branch.filter((m) => m.id !== message.id);
  if (message.parentId !== undefined) {
    const parentAt = message.parentId === null ? -1 : messages.findIndex((m) => m.id === message.parentId);
    if (parentAt >= 0 || message.parentId === null) messages.splice(parentAt + 1);
  }
  messages.push(message);
  return messages;
}

/** Our own stream, cut by a reload: continue after its last event. Anyone else's: follow from the start. */
export const resumeFor = (saved: Resume | undefined, chatroomId: string, replyId: string): Resume =>
  saved?.chatroomId === chatroomId && saved.replyId === replyId ? saved : { chatroomId, replyId, lastEventId: undefined, text: '' };

/** The file name the server gave the export (Content-Disposition), else a plain one. */
export function exportFileName(contentDisposition: string | null, format: 'markdown' | 'json'): string {
  const named = /filename="?([^";]+)"?/.exec(contentDisposition ?? '')?.[1];
  return named ?? `chat.${format === 'json' ? 'json' : 'md'}`;
}
