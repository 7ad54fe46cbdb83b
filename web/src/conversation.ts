/**
 * The open chatroom: its branch of messages, sending with a streamed reply, stop, regenerate, edit,
 * moving between branches, resuming a reply after a reload, settings and export. The prompt's files
 * are attachments.ts's; how a prompt's files look in the log is file-links.ts's.
 */
import { api, ApiError, ok } from './api';
import { explainQuota, showAllowance } from './allowance';
import { maySend } from './attachment-rules';
import { attachmentStates, settleAttachments, startAttachments, takeAttachments } from './attachments';
import type { Chatroom, Conversation, Message, ModelChoice, PromptBody, SettingsChange } from './contract';
import { exportFileName, isOpen, placeMessage, resumeFor, statusNote, type Resume } from './conversation-rules';
import { byId, h } from './dom';
import { readEvents } from './event-stream';
import { attachmentList, attachmentsOf, releaseHiddenImages } from './file-links';
import { feedbackControls, isRatable } from './feedback';
import { groundingSection, paintThoughts, renderAnswer, thoughtsSection } from './reply-extras';
import { act, clearReport, describe, inform, report } from './report';

/** The reply being streamed, kept for the next page load (conversation-rules.ts, Resume). */
const RESUME_KEY = 'gemini-chat.streaming';

const RECONNECT_ATTEMPTS = 5;
const RECONNECT_BACKOFF_MS = 500;

const title = byId('room-title');
const log = byId('conversation');
const composer = byId<HTMLFormElement>('composer');
const input = byId<HTMLTextAreaElement>('message');
const sendButton = byId<HTMLButtonElement>('send');
const stopButton = byId<HTMLButtonElement>('stop');
const roomTools = byId('room-tools');
const settingsForm = byId<HTMLFormElement>('settings-form');
const systemInstruction = byId<HTMLTextAreaElement>('system-instruction');
const modelSelect = byId<HTMLSelectElement>('model');
const temperature = byId<HTMLInputElement>('temperature');
const grounding = byId<HTMLInputElement>('grounding');
const thinkingBudget = byId<HTMLInputElement>('thinking-budget');
const includeThoughts = byId<HTMLInputElement>('include-thoughts');

let conversation: Conversation | undefined;
/** The reply this page is reading a stream of, and how to stop reading it (the reply itself goes on). */
let streaming: { chatroomId: string; replyId: string | undefined; reader: AbortController } | undefined;
let models: ModelChoice[] | undefined;
/** The streaming reply whose text changed since it was last drawn, and the frame that will draw it. */
let repaint: { replyId: string; frame: number } | undefined;
let hooks: { roomChanged: (room: Chatroom) => void; refreshRooms: () => void };

const saveResume = (resume: Resume | undefined) =>
  resume ? sessionStorage.setItem(RESUME_KEY, JSON.stringify(resume)) : sessionStorage.removeItem(RESUME_KEY);

function loadResume(): Resume | undefined {
  try {
    return JSON.parse(sessionStorage.getItem(RESUME_KEY) ?? 'null') as Resume | undefined;
  } catch {
    return undefined;
  }
}

// ---- rendering --------------------------------------------------------------------------------

function branchSwitcher(message: Message): HTMLElement | undefined {
  const siblings = message.siblingIds ?? [message.id];
  if (siblings.length < 2) return undefined;
  const at = siblings.indexOf(message.id);
  const go = (to: string | undefined) => () => act(() => switchBranch(to));
  const which = message.role === 'user' ? 'prompt' : 'reply';
  return h(
    'span',
    { class: 'branches', role: 'group', 'aria-label': `Versions of this ${which}` },
    h('button', { type: 'button', class: 'icon', 'aria-label': `Previous ${which} version`, disabled: at <= 0 || !!streaming, onclick: go(siblings[at - 1]) }, '‹'),
    h('span', { class: 'branch-position' }, `${at + 1}/${siblings.length}`),
    h('button', { type: 'button', class: 'icon', 'aria-label': `Next ${which} version`, disabled: at >= siblings.length - 1 || !!streaming, onclick: go(siblings[at + 1]) }, '›'),
  );
}

/** A reply is Markdown, drawn as sanitised HTML with its citations (reply-extras.ts); a prompt is shown as the user typed it. */
const messageContent = (message: Message) =>
  message.role === 'model' ? h('div', { class: 'content markdown' }, renderAnswer(message)) : h('div', { class: 'content' }, message.content);

function render() {
  cancelRepaint(); // the whole log is drawn from the current text anyway
  title.textContent = conversation?.title ?? 'No chat open';
  roomTools.hidden = !conversation;
  composer.hidden = !conversation;
  if (!conversation) {
    log.replaceChildren(h('p', { class: 'empty' }, 'Create a chat with "New chat" to start.'));
    return;
  }
  const { messages } = conversation;
  const lastReply = messages.at(-1)?.role === 'model' ? messages.at(-1) : undefined;
  log.replaceChildren(
    ...messages.map((message) => {
      const note = statusNote(message);
      const canEdit = message.role === 'user' && message.parentId !== undefined && !streaming;
      return h(
        'article',
        { class: `message ${message.role}`, 'data-message-id': message.id, 'aria-label': message.role === 'user' ? 'You' : 'Gemini' },
        message.role === 'model' && thoughtsSection(message),
        messageContent(message),
        message.role === 'model' && groundingSection(message),
        attachmentsOf(message).length > 0 && attachmentList(attachmentsOf(message)),
        note && h('p', { class: 'note' }, note),
        h(
          'div',
          { class: 'tools' },
          branchSwitcher(message),
          canEdit && h('button', { type: 'button', onclick: () => startEdit(message) }, 'Edit'),
          message === lastReply && !isOpen(message) && !streaming && h('button', { type: 'button', onclick: () => act(() => regenerate(message)) }, 'Regenerate'),
          isRatable(message) && feedbackControls(message, replaceMessage),
        ),
      );
    }),
  );
  if (messages.length === 0) log.append(h('p', { class: 'empty' }, 'Say something to begin.'));
  releaseHiddenImages(log);
  log.scrollTop = log.scrollHeight;
  updateSendButton();
  stopButton.hidden = !streaming;
}

/** A message of the branch on screen as the server now has it (a rating), redrawn. */
function replaceMessage(message: Message) {
  if (!conversation) return;
  conversation = { ...conversation, messages: conversation.messages.map((m) => (m.id === message.id ? message : m)) };
  render();
}

/** Send waits for the reply being streamed, and for the files still uploading. */
function updateSendButton() {
  const uploading = attachmentStates().includes('uploading');
  sendButton.disabled = !!streaming || uploading;
  sendButton.title = uploading ? 'Waiting for the files to finish uploading' : '';
}

function startEdit(message: Message) {
  const article = log.querySelector(`[data-message-id="${message.id}"]`);
  if (!article) return;
  const text = h('textarea', { 'aria-label': 'Edited prompt', rows: 3 });
  text.value = message.content;
  const files = attachmentsOf(message);
  // The edit carries the prompt's files; a deleted one cannot go again (API.md: 404), and shows so.
  const carried = files.filter((file) => !file.deleted).map((file) => file.id);
  const form = h(
    'form',
    {
      class: 'edit',
      onsubmit: (event) => {
        event.preventDefault();
        if (!maySend(text.value, carried.map(() => 'uploaded' as const))) return;
        act(async () => void (await send(text.value, { parentId: message.parentId ?? null, attachmentIds: carried })));
      },
    },
    text,
    files.length > 0 && attachmentList(files),
    h('button', { type: 'submit' }, 'Send edit'),
    h('button', { type: 'button', onclick: render }, 'Cancel'),
  );
  article.replaceChildren(form);
  text.focus();
}

/** Puts a message the stream announced on screen: after its parent, dropping the branch it replaces. */
function place(message: Message) {
  if (!conversation) return;
  conversation.messages = placeMessage(conversation.messages, message);
}

function updateReply(replyId: string, change: (reply: Message) => Message) {
  if (!conversation) return;
  conversation.messages = conversation.messages.map((m) => (m.id === replyId ? change(m) : m));
  const reply = conversation.messages.find((m) => m.id === replyId);
  // A delta only redraws the reply's text, at most once a frame (deltas can come faster, and each
  // draw parses the whole reply again); anything else redraws the log.
  if (reply?.status === 'streaming' && log.querySelector(`[data-message-id="${replyId}"] .content`)) {
    repaint ??= { replyId, frame: requestAnimationFrame(paintStreamingReply) };
  } else render();
}

function paintStreamingReply() {
  const replyId = repaint?.replyId;
  repaint = undefined;
  const reply = conversation?.messages.find((m) => m.id === replyId);
  const article = log.querySelector(`[data-message-id="${replyId}"]`);
  const content = article?.querySelector('.content');
  if (!reply || !article || !content) return;
  paintThoughts(article, reply);
  content.replaceChildren(renderAnswer(reply));
  log.querySelector(`[data-message-id="${replyId}"] .note`)?.remove();
  log.scrollTop = log.scrollHeight;
}

function cancelRepaint() {
  if (repaint) cancelAnimationFrame(repaint.frame);
  repaint = undefined;
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
        render();
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
  render();
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
    if (outcome !== 'left' && conversation?.id === chatroomId) await reload(chatroomId).catch(() => render());
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
    conversation.title = room.title;
    title.textContent = room.title;
  }
}

async function reload(chatroomId: string) {
  const fresh = await ok(api.GET('/chatroom/{id}', { params: { path: { id: chatroomId } } }));
  if (conversation?.id !== chatroomId) return;
  conversation = fresh;
  render();
}

/** Sends a prompt with its files (after `parentId` when editing) and streams its reply; false when it was not sent. */
async function send(content: string, { parentId, attachmentIds = [] }: Omit<PromptBody, 'content'> = {}): Promise<boolean> {
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

async function regenerate(reply: Message): Promise<void> {
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
  if (error instanceof ApiError && error.code === 'QUOTA_EXCEEDED') explainQuota(error);
  else report(describe(error));
  return false;
}

async function stop(): Promise<void> {
  const replyId = streaming?.replyId;
  if (!conversation || !replyId) return;
  // The stream then ends with the stopped reply's `done`.
  await ok(api.POST('/chatroom/{id}/messages/{replyId}/stop', { params: { path: { id: conversation.id, replyId } } }));
}

async function switchBranch(messageId: string | undefined): Promise<void> {
  if (!conversation || !messageId) return;
  conversation = await ok(api.PUT('/chatroom/{id}/current-message', { params: { path: { id: conversation.id } }, body: { messageId } }));
  render();
}

// ---- settings and export ---------------------------------------------------------------------

async function loadModels(): Promise<void> {
  if (models) return;
  try {
    models = (await ok(api.GET('/models'))).items;
  } catch {
    models = []; // An older server: the chatroom keeps the server's default model.
  }
  modelSelect.replaceChildren(
    h('option', { value: '' }, 'Server default'),
    ...(models ?? []).map((model) => h('option', { value: model.id }, model.default ? `${model.id} (default)` : model.id)),
  );
}

function fillSettings() {
  const settings = conversation?.settings;
  systemInstruction.value = settings?.systemInstruction ?? '';
  temperature.value = settings?.temperature === null || settings?.temperature === undefined ? '' : String(settings.temperature);
  grounding.checked = settings?.grounding ?? false;
  thinkingBudget.value = settings?.thinking?.budget === null || settings?.thinking?.budget === undefined ? '' : String(settings.thinking.budget);
  includeThoughts.checked = settings?.thinking?.includeThoughts ?? false;
  // The chosen model can only be selected once the list of models is there.
  act(async () => {
    await loadModels();
    modelSelect.value = conversation?.settings.model ?? '';
  });
}

async function saveSettings(): Promise<void> {
  if (!conversation) return;
  const settings: SettingsChange = {
    systemInstruction: systemInstruction.value.trim() || null,
    // The select offers only what GET /models answered.
    model: modelSelect.value || null,
    temperature: temperature.value === '' ? null : Number(temperature.value),
    grounding: grounding.checked,
    // Nothing chosen is the model's own default: no thinking settings at all.
    thinking:
      thinkingBudget.value === '' && !includeThoughts.checked
        ? null
        : { budget: thinkingBudget.value === '' ? null : Number(thinkingBudget.value), includeThoughts: includeThoughts.checked },
  };
  const room = await ok(api.PATCH('/chatroom/{id}', { params: { path: { id: conversation.id } }, body: { settings } }));
  conversation = { ...conversation, ...room };
  hooks.roomChanged(room);
  inform('Settings saved for this chat.');
}

async function exportAs(format: 'markdown' | 'json'): Promise<void> {
  if (!conversation) return;
  const { response, data } = await api.GET('/chatroom/{id}/export', {
    params: { path: { id: conversation.id }, query: { format } },
    parseAs: 'blob',
  });
  if (!response.ok || !data) await ok(Promise.resolve({ response, error: undefined }));
  const link = h('a', { href: URL.createObjectURL(data as Blob), download: exportFileName(response.headers.get('content-disposition'), format) });
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

// ---- entry points ----------------------------------------------------------------------------

/** Shows a chatroom (or none); picks up a reply that was streaming when the page was last left. */
export function showConversation(next: Conversation | undefined): void {
  if (streaming && streaming.chatroomId !== next?.id) {
    streaming.reader.abort(); // stop reading; the reply goes on and is resumed when the chatroom is opened again
    streaming = undefined;
  }
  conversation = next;
  fillSettings();
  render();
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

export function startConversation(wiring: typeof hooks): void {
  hooks = wiring;
  startAttachments({ changed: updateSendButton });
  composer.addEventListener('submit', (event) => {
    event.preventDefault();
    const content = input.value.trim();
    if (!maySend(content, attachmentStates())) return;
    input.value = '';
    const files = takeAttachments();
    act(async () => {
      // A prompt that was not sent goes back in the box, its files too, to send again (after an upgrade, say).
      const sent = await send(content, { attachmentIds: files.ids });
      if (!sent && !input.value) input.value = content;
      settleAttachments(files, sent);
    });
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      composer.requestSubmit();
    }
  });
  stopButton.addEventListener('click', () => act(stop));
  settingsForm.addEventListener('submit', (event) => {
    event.preventDefault();
    act(saveSettings);
  });
  byId('export-markdown').addEventListener('click', () => act(() => exportAs('markdown')));
  byId('export-json').addEventListener('click', () => act(() => exportAs('json')));
}
