/**
 * The open chatroom, without its views (conversation-log.tsx, composer.tsx, settings-panel.tsx): its
 * branch of messages, sending with a streamed reply, stop, regenerate, edit, moving between
 * branches, resuming a reply after a reload, settings and export. What the views draw is `chat`.
 */
import { api, ApiError, ok } from './api';
import { explainQuota, showAllowance } from './allowance';
import type { Chatroom, Conversation, Message, ModelChoice, PromptBody, SettingsChange } from './contract';
import { exportFileName, isOpen, placeMessage, resumeFor, type Resume } from './conversation-rules';
import { readEvents } from './event-stream';
import { saveBlob } from './file-links';
import { act, clearReport, describe, inform, report } from './report';
import { createStore, selectFrom } from './store';

/** The reply being streamed, kept for the next page load (conversation-rules.ts, Resume). */
const RESUME_KEY = 'gemini-chat.streaming';

const RECONNECT_ATTEMPTS = 5;
const RECONNECT_BACKOFF_MS = 500;

let conversation: Conversation | undefined;
/** The reply this page is reading a stream of, and how to stop reading it (the reply itself goes on). */
let streaming: { chatroomId: string; replyId: string | undefined; reader: AbortController } | undefined;
let modelsAsked = false;
/** A delta drawn at the next frame, with any others that come before it. */
let frame: number | undefined;
/** The message a search opened the chat at, marked and scrolled to (conversation-log.tsx). */
let found: string | undefined;
let hooks: { roomChanged: (room: Chatroom) => void; refreshRooms: () => void } = { roomChanged: () => undefined, refreshRooms: () => undefined };

export interface ChatState {
  conversation: Conversation | undefined;
  /** A reply of this chat is being read from its stream: Send, Regenerate, Edit and the branches wait. */
  streaming: boolean;
  found: string | undefined;
}

/** What the views draw. Each change makes new objects of what changed only (a message, the branch), so that the rest is not drawn again. */
export const chat = createStore<ChatState>({ conversation: undefined, streaming: false, found: undefined });
/**
 * The parts of `chat` that the views drawing none of its messages read (the pane and its header,
 * the composer): a streamed reply's frames change none of them, so those views are not drawn again
 * for each frame; the log alone is (conversation-log.tsx).
 */
export const openChatId = selectFrom(chat, (state) => state.conversation?.id);
export const openChatTitle = selectFrom(chat, (state) => state.conversation?.title);
export const replyStreaming = selectFrom(chat, (state) => state.streaming);
/** The models GET /models offers (settings-panel.tsx); [] from an older server. */
export const models = createStore<ModelChoice[] | undefined>(undefined);

/**
 * Hands the state to the views: now, or (for a delta) at the next frame: deltas can come faster
 * than frames, and each draw parses the whole reply again.
 */
function publish(when: 'now' | 'next-frame' = 'now') {
  if (when === 'next-frame') {
    frame ??= requestAnimationFrame(() => {
      frame = undefined;
      publish();
    });
    return;
  }
  if (frame !== undefined) cancelAnimationFrame(frame);
  frame = undefined;
  chat.set({ conversation, streaming: !!streaming, found });
}

const saveResume = (resume: Resume | undefined) =>
  resume ? sessionStorage.setItem(RESUME_KEY, JSON.stringify(resume)) : sessionStorage.removeItem(RESUME_KEY);

function loadResume(): Resume | undefined {
  try {
    return JSON.parse(sessionStorage.getItem(RESUME_KEY) ?? 'null') as Resume | undefined;
  } catch {
    return undefined;
  }
}

/** A message of the branch on screen as the server now has it (a rating), redrawn. */
export function replaceMessage(message: Message): void {
  if (!conversation) return;
  conversation = { ...conversation, messages: conversation.messages.map((m) => (m.id === message.id ? message : m)) };
  publish();
}

/** Puts a message the stream announced on screen: after its parent, dropping the branch it replaces. */
function place(message: Message) {
  if (!conversation) return;
  conversation = { ...conversation, messages: placeMessage(conversation.messages, message) };
}

function updateReply(replyId: string, change: (reply: Message) => Message) {
  if (!conversation) return;
  conversation = { ...conversation, messages: conversation.messages.map((m) => (m.id === replyId ? change(m) : m)) };
  const reply = conversation.messages.find((m) => m.id === replyId);
  publish(reply?.status === 'streaming' ? 'next-frame' : 'now');
}

// ---- streams --------------------------------------------------------------------------------

type StreamOutcome = 'finished' | 'cut' | 'left';

/**
 * Reads a reply's event stream to its end. 'cut' = the connection ended before `done` or `error`
 * (reconnect after the last event id); 'left' = the page stopped reading (another chatroom opened).
 */
async function readReply(body: ReadableStream<Uint8Array>, resume: Resume, reader: AbortController): Promise<StreamOutcome> {
  for await (const event of readEvents(body)) {
    if (reader.signal.aborted) return 'left';
    if (event.id !== undefined) resume.lastEventId = event.id;
    switch (event.event) {
      case 'message': {
        const exchange = event.data as { userMessage?: Message; reply?: Message };
        if (exchange.userMessage) place(exchange.userMessage);
        if (exchange.reply) {
          place(exchange.reply);
          resume.replyId = exchange.reply.id;
          if (streaming) streaming.replyId = exchange.reply.id;
        }
        publish();
        void showAllowance().catch(() => undefined); // the prompt was just spent
        break;
      }
      case 'delta': {
        const { text } = event.data as { text: string };
        resume.text += text;
        updateReply(resume.replyId, (reply) => ({ ...reply, status: 'streaming', content: resume.text }));
        break;
      }
      case 'thought': {
        const { text } = event.data as { text: string };
        resume.thoughts = (resume.thoughts ?? '') + text;
        updateReply(resume.replyId, (reply) => ({ ...reply, status: 'streaming', thoughts: resume.thoughts ?? null }));
        break;
      }
      case 'grounding': {
        const { grounding } = event.data as { grounding: Message['grounding'] };
        updateReply(resume.replyId, (reply) => ({ ...reply, grounding }));
        break;
      }
      case 'reset':
        // The model call was retried from the start: the text so far is void.
        resume.text = '';
        resume.thoughts = '';
        updateReply(resume.replyId, (reply) => ({ ...reply, content: '', thoughts: null, grounding: null }));
        break;
      case 'done':
        updateReply(resume.replyId, () => event.data as Message);
        return 'finished';
      case 'error': {
        const { code, message } = event.data as { code: string; message: string };
        updateReply(resume.replyId, (reply) => ({ ...reply, status: 'failed', error: { code, message } }));
        return 'finished';
      }
      default:
        break;
    }
    if (resume.replyId) saveResume(resume);
  }
  return reader.signal.aborted ? 'left' : 'cut';
}

async function followReply(resume: Resume, reader: AbortController): Promise<ReadableStream<Uint8Array>> {
  const { response, data } = await api.GET('/chatroom/{id}/messages/{replyId}/stream', {
    params: { path: { id: resume.chatroomId, replyId: resume.replyId }, header: resume.lastEventId ? { 'last-event-id': resume.lastEventId } : {} },
    headers: { accept: 'text/event-stream' },
    parseAs: 'stream',
    signal: reader.signal,
  });
  if (!response.ok || !data) await ok(Promise.resolve({ response, error: undefined }));
  return data as ReadableStream<Uint8Array>;
}

/**
 * Streams a reply from the first response's body, reconnecting after the last event id if the
 * connection drops; then reloads the branch (sibling counts, the current message) and the allowance.
 */
async function stream(chatroomId: string, first: (reader: AbortController) => Promise<ReadableStream<Uint8Array>>, resume: Resume): Promise<void> {
  const reader = new AbortController();
  streaming?.reader.abort();
  streaming = { chatroomId, replyId: resume.replyId || undefined, reader };
  found = undefined; // the log follows the new reply, not the search hit any more
  publish();
  const read = async (open: (reader: AbortController) => Promise<ReadableStream<Uint8Array>>): Promise<StreamOutcome> => {
    try {
      return await readReply(await open(reader), resume, reader);
    } catch (error) {
      if (reader.signal.aborted) return 'left';
      // A connection that broke once the reply exists is picked up again; before that, the send failed.
      if (resume.replyId && !(error instanceof ApiError)) return 'cut';
      throw error;
    }
  };
  let outcome: StreamOutcome = 'cut';
  try {
    outcome = await read(first);
    for (let attempt = 1; outcome === 'cut' && resume.replyId && attempt <= RECONNECT_ATTEMPTS; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_BACKOFF_MS * attempt));
      outcome = await read((again) => followReply(resume, again)).catch((error: unknown) => {
        if (attempt === RECONNECT_ATTEMPTS) throw error;
        return 'cut' as const;
      });
    }
  } finally {
    if (streaming?.reader === reader) streaming = undefined;
    if (outcome !== 'left') saveResume(undefined);
    if (outcome !== 'left' && conversation?.id === chatroomId) await reload(chatroomId).catch(() => undefined);
    publish();
  }
  if (outcome === 'left') return;
  if (outcome === 'cut') report('The connection to the reply was lost: reload the page to see how it ended.');
  await showAllowance().catch(() => undefined);
  hooks.refreshRooms();
  // A first reply gets the chatroom a title soon after (its own job): look again once, a little later.
  if (conversation?.id === chatroomId && conversation.title === 'New chat') setTimeout(() => void titleLater(chatroomId), TITLE_LOOK_AGAIN_MS);
}

const TITLE_LOOK_AGAIN_MS = 3_000;

async function titleLater(chatroomId: string) {
  const room = await ok(api.GET('/chatroom/{id}', { params: { path: { id: chatroomId } } })).catch(() => undefined);
  if (!room || room.title === 'New chat') return;
  hooks.roomChanged(room);
  if (conversation?.id === chatroomId) {
    conversation = { ...conversation, title: room.title };
    publish();
  }
}

async function reload(chatroomId: string) {
  const fresh = await ok(api.GET('/chatroom/{id}', { params: { path: { id: chatroomId } } }));
  if (conversation?.id !== chatroomId) return;
  conversation = fresh;
  publish();
}

/** Sends a prompt with its files (after `parentId` when editing) and streams its reply; false when it was not sent. */
export async function send(content: string, { parentId, attachmentIds = [] }: Omit<PromptBody, 'content'> = {}): Promise<boolean> {
  if (!conversation || streaming) return false;
  clearReport();
  const chatroomId = conversation.id;
  // parentId is API.md's edit (a new branch); without it the prompt continues the current branch.
  const body: PromptBody = { content, ...(attachmentIds.length > 0 && { attachmentIds }), ...(parentId !== undefined && { parentId }) };
  const resume: Resume = { chatroomId, replyId: '', lastEventId: undefined, text: '' };
  return stream(
    chatroomId,
    async () => {
      const { response, data, error } = await api.POST('/chatroom/{id}/message', {
        params: { path: { id: chatroomId } },
        headers: { accept: 'text/event-stream' },
        body,
        parseAs: 'stream',
      });
      if (!response.ok || !data) await ok(Promise.resolve({ response, error: error }));
      return data as ReadableStream<Uint8Array>;
    },
    resume,
  ).then(() => true, failedToSend);
}

export async function regenerate(reply: Message): Promise<void> {
  if (!conversation || streaming) return;
  clearReport();
  const chatroomId = conversation.id;
  const resume: Resume = { chatroomId, replyId: '', lastEventId: undefined, text: '' };
  await stream(
    chatroomId,
    async () => {
      const { response, data, error } = await api.POST('/chatroom/{id}/messages/{replyId}/regenerate', {
        params: { path: { id: chatroomId, replyId: reply.id } },
        headers: { accept: 'text/event-stream' },
        parseAs: 'stream',
      });
      if (!response.ok || !data) await ok(Promise.resolve({ response, error: error }));
      return data as ReadableStream<Uint8Array>;
    },
    resume,
  ).catch(failedToSend);
}

function failedToSend(error: unknown): false {
  if (error instanceof ApiError && error.code === 'QUOTA_EXCEEDED') void explainQuota(error);
  else report(describe(error));
  return false;
}

export async function stop(): Promise<void> {
  const replyId = streaming?.replyId;
  if (!conversation || !replyId) return;
  // The stream then ends with the stopped reply's `done`.
  await ok(api.POST('/chatroom/{id}/messages/{replyId}/stop', { params: { path: { id: conversation.id, replyId } } }));
}

export async function switchBranch(messageId: string | undefined): Promise<void> {
  if (!conversation || !messageId) return;
  conversation = await ok(api.PUT('/chatroom/{id}/current-message', { params: { path: { id: conversation.id } }, body: { messageId } }));
  found = undefined;
  publish();
}

// ---- settings and export ---------------------------------------------------------------------

export async function loadModels(): Promise<void> {
  if (modelsAsked) return;
  modelsAsked = true;
  try {
    models.set((await ok(api.GET('/models'))).items);
  } catch {
    models.set([]); // An older server: the chatroom keeps the server's default model.
  }
}

export async function saveSettings(settings: SettingsChange): Promise<void> {
  if (!conversation) return;
  const room = await ok(api.PATCH('/chatroom/{id}', { params: { path: { id: conversation.id } }, body: { settings } }));
  conversation = { ...conversation, ...room };
  publish();
  hooks.roomChanged(room);
  inform('Settings saved for this chat.');
}

export async function exportAs(format: 'markdown' | 'json'): Promise<void> {
  if (!conversation) return;
  const { response, data } = await api.GET('/chatroom/{id}/export', {
    params: { path: { id: conversation.id }, query: { format } },
    parseAs: 'blob',
  });
  if (!response.ok || !data) await ok(Promise.resolve({ response, error: undefined }));
  saveBlob(data as Blob, exportFileName(response.headers.get('content-disposition'), format));
}

// ---- entry points ----------------------------------------------------------------------------

/**
 * Shows a chatroom (or none); picks up a reply that was streaming when the page was last left.
 * `at`: the message a search hit opened it at, marked and scrolled to.
 */
export function showConversation(next: Conversation | undefined, at?: string): void {
  if (streaming && streaming.chatroomId !== next?.id) {
    streaming.reader.abort(); // stop reading; the reply goes on and is resumed when the chatroom is opened again
    streaming = undefined;
  }
  conversation = next;
  found = at;
  publish();
  if (!next || streaming) return;
  const saved = loadResume();
  const open = next.messages.findLast((m) => m.role === 'model' && isOpen(m));
  if (!open) {
    if (saved?.chatroomId === next.id) saveResume(undefined);
    return;
  }
  const resume = resumeFor(saved, next.id, open.id);
  updateReply(open.id, (reply) => ({ ...reply, content: resume.text || reply.content, thoughts: resume.thoughts || reply.thoughts }));
  if (!resume.lastEventId) [resume.text, resume.thoughts] = ['', ''];
  act(() => stream(next.id, (reader) => followReply(resume, reader), resume));
}

/** The chat page's hooks: a chatroom's title or settings changed, and the list of chatrooms is worth loading again. */
export function startConversation(wiring: typeof hooks): void {
  hooks = wiring;
}

/** A chatroom renamed in the sidebar: the open one's title follows. */
export function roomRenamed(room: Chatroom): void {
  if (conversation?.id !== room.id) return;
  conversation = { ...conversation, title: room.title };
  publish();
}
