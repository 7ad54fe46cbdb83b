/**
 * The chat page: sign-in, the chatroom sidebar, the conversation with streamed replies, and the
 * allowance. Plain DOM; every call goes through the typed client in api.ts.
 */
import { api, ApiError, loadTokens, ok, saveTokens, SessionEnded, whenSessionEnds } from './api';
import { discardAttachments } from './attachments';
import { showConversation, startConversation } from './conversation';
import { byId, h } from './dom';
import { showAllowance, watchForPro } from './allowance';
import type { Chatroom, OtpIssued } from './contract';
import { report, clearReport, act } from './report';
import { startSearch } from './search';
import { forkPendingShare, resetSharing, startSharing } from './share';

const ROOM_KEY = 'gemini-chat.room';

const authView = byId('auth-view');
const chatView = byId('chat-view');
const mobile = byId<HTMLInputElement>('mobile');
const password = byId<HTMLInputElement>('password');
const code = byId<HTMLInputElement>('code');
const codeNotice = byId('code-notice');
const roomList = byId('rooms');

let rooms: Chatroom[] = [];
let currentRoomId: string | undefined;

// ---- sign-in ---------------------------------------------------------------------------------

function showCode(issued: OtpIssued | undefined) {
  codeNotice.hidden = false;
  codeNotice.textContent = issued?.otp
    ? `Your code is ${issued.otp} (shown here because this server has no SMS provider). It expires at ${new Date(issued.expiresAt).toLocaleTimeString()}.`
    : 'We sent you a code: type it below.';
  if (issued?.otp) code.value = issued.otp;
  code.focus();
}

/** A signup answers its own verification code (API.md); an older server answers none, and we ask for one. */
function verificationOf(body: object): OtpIssued | undefined {
  if (!('verification' in body)) return undefined;
  const verification = body.verification;
  return verification && typeof verification === 'object' && 'expiresAt' in verification ? (verification as OtpIssued) : undefined;
}

async function signUp() {
  const body = { mobile: mobile.value, ...(password.value ? { password: password.value } : {}) };
  const created = await ok(api.POST('/auth/signup', { body }));
  showCode(verificationOf(created) ?? (await ok(api.POST('/auth/send-otp', { body: { mobile: mobile.value } }))));
}

async function sendCode() {
  showCode(await ok(api.POST('/auth/send-otp', { body: { mobile: mobile.value } })));
}

async function verifyCode() {
  saveTokens(await ok(api.POST('/auth/verify-otp', { body: { mobile: mobile.value, otp: code.value.trim() } })));
  await enter();
}

async function signIn() {
  if (!password.value) {
    report('Type your password, or use "Send code" to sign in with a one-time code.');
    password.focus();
    return;
  }
  saveTokens(await ok(api.POST('/auth/login', { body: { mobile: mobile.value, password: password.value } })));
  await enter();
}

async function signOut() {
  await api.POST('/auth/logout').catch(() => undefined);
  leave();
}

function leave(message?: string) {
  saveTokens(undefined);
  sessionStorage.clear();
  discardAttachments();
  chatView.hidden = true;
  authView.hidden = false;
  password.value = '';
  code.value = '';
  codeNotice.hidden = true;
  if (message) report(message);
}

whenSessionEnds(() => leave(new SessionEnded().message));

// ---- chatrooms -------------------------------------------------------------------------------

function renderRooms() {
  roomList.replaceChildren(
    ...rooms.map((room) =>
      h(
        'li',
        { class: room.id === currentRoomId ? 'room current' : 'room' },
        h('button', { type: 'button', class: 'room-open', 'aria-label': `Open chat ${room.title}`, 'aria-current': room.id === currentRoomId ? 'page' : undefined, onclick: () => act(() => openRoom(room.id)) }, room.title),
        h('button', { type: 'button', class: 'icon', 'aria-label': `Rename chat ${room.title}`, title: 'Rename', onclick: () => renameRoom(room) }, '✎'),
        h('button', { type: 'button', class: 'icon', 'aria-label': `Delete chat ${room.title}`, title: 'Delete', onclick: () => act(() => deleteRoom(room)) }, '✕'),
      ),
    ),
  );
}

async function loadRooms() {
  rooms = (await ok(api.GET('/chatroom', { params: { query: { limit: 100 } } }))).items;
  renderRooms();
}

async function newRoom() {
  const room = await ok(api.POST('/chatroom', { body: {} }));
  rooms = [room, ...rooms];
  await openRoom(room.id);
  byId('message').focus();
}

function renameRoom(room: Chatroom) {
  const item = [...roomList.children].find((li) => li.querySelector('.room-open')?.textContent === room.title && li.classList.contains('room'));
  if (!item) return;
  const input = h('input', { type: 'text', value: room.title, 'aria-label': 'Chat title', maxlength: 120, required: true });
  const form = h(
    'form',
    {
      class: 'rename',
      onsubmit: (event) => {
        event.preventDefault();
        act(async () => {
          const renamed = await ok(api.PATCH('/chatroom/{id}', { params: { path: { id: room.id } }, body: { title: input.value } }));
          rooms = rooms.map((r) => (r.id === renamed.id ? renamed : r));
          renderRooms();
          if (renamed.id === currentRoomId) byId('room-title').textContent = renamed.title;
        });
      },
    },
    input,
    h('button', { type: 'submit' }, 'Save title'),
    h('button', { type: 'button', onclick: renderRooms }, 'Cancel'),
  );
  item.replaceChildren(form);
  input.select();
}

async function deleteRoom(room: Chatroom) {
  if (!confirm(`Delete "${room.title}" and all its messages?`)) return;
  await ok(api.DELETE('/chatroom/{id}', { params: { path: { id: room.id } } }));
  rooms = rooms.filter((r) => r.id !== room.id);
  if (room.id === currentRoomId) {
    currentRoomId = undefined;
    sessionStorage.removeItem(ROOM_KEY);
    showConversation(undefined);
  }
  renderRooms();
}

async function openRoom(id: string) {
  currentRoomId = id;
  sessionStorage.setItem(ROOM_KEY, id);
  resetSharing();
  renderRooms();
  const conversation = await ok(api.GET('/chatroom/{id}', { params: { path: { id } } }));
  showConversation(conversation);
}

/** A search hit: its chatroom, on the branch of its message (PUT current-message), the message in view. */
async function openAt(chatroomId: string, messageId: string | null) {
  if (messageId === null) return openRoom(chatroomId);
  currentRoomId = chatroomId;
  sessionStorage.setItem(ROOM_KEY, chatroomId);
  renderRooms();
  showConversation(await ok(api.PUT('/chatroom/{id}/current-message', { params: { path: { id: chatroomId } }, body: { messageId } })));
  const found = document.querySelector(`[data-message-id="${CSS.escape(messageId)}"]`);
  found?.scrollIntoView({ block: 'center' });
  found?.classList.add('found');
}

// ---- the session as a whole ------------------------------------------------------------------

async function enter() {
  clearReport();
  authView.hidden = true;
  chatView.hidden = false;
  const me = await ok(api.GET('/user/me'));
  byId('who').textContent = me.name ?? me.mobile;
  await Promise.all([loadRooms(), showAllowance()]);
  // Opened from a share's "Continue this conversation": its fork is the chat to open.
  const forked = await forkPendingShare();
  if (forked) {
    await loadRooms();
    await openRoom(forked);
    return;
  }
  const remembered = sessionStorage.getItem(ROOM_KEY);
  if (remembered && rooms.some((room) => room.id === remembered)) await openRoom(remembered);
  else if (rooms[0]) await openRoom(rooms[0].id);
  else showConversation(undefined);
}

function wire() {
  byId('auth-form').addEventListener('submit', (event) => {
    event.preventDefault();
    act(signIn);
  });
  byId('send-code').addEventListener('click', () => act(sendCode));
  byId('sign-up').addEventListener('click', () => act(signUp));
  byId('verify').addEventListener('click', () => act(verifyCode));
  code.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      act(verifyCode);
    }
  });
  byId('sign-out').addEventListener('click', () => act(signOut));
  byId('new-chat').addEventListener('click', () => act(newRoom));
  byId('upgrade').addEventListener('click', () => act(watchForPro));
  startSearch(openAt);
  startSharing(() => currentRoomId);
  startConversation({
    roomChanged: (room) => {
      rooms = rooms.map((r) => (r.id === room.id ? { ...r, ...room } : r));
      renderRooms();
    },
    refreshRooms: () => act(loadRooms),
  });
}

wire();
if (loadTokens()) {
  act(enter, () => leave());
} else {
  authView.hidden = false;
}

// Nothing may end in a blank page: an error nobody caught is still shown.
window.addEventListener('unhandledrejection', (event) => {
  if (event.reason instanceof SessionEnded) return;
  report(event.reason instanceof ApiError ? event.reason.message : `Something went wrong: ${String(event.reason)}`);
});
