/**
 * The chat page: sign-in, the chatroom sidebar, the conversation with streamed replies, and the
 * allowance, as Preact components over a few stores (store.ts); every call goes through the typed
 * client in api.ts.
 */
import { render } from 'preact';
import { api, ApiError, loadTokens, ok, saveTokens, SessionEnded, whenSessionEnds } from './api';
import { showAllowance } from './allowance';
import { AlertRegion } from './alert-region';
import { discardAttachments } from './attachments';
import { AuthForm } from './auth-form';
import { ChatPane } from './chat-pane';
import type { Chatroom } from './contract';
import { roomChanged, rooms, RoomList } from './room-list';
import { act, clearReport, report } from './report';
import { forkPendingShare, startSharing } from './share';
import { createStore } from './store';
import { useStore } from './use-store';
import { showConversation, startConversation } from './conversation';
import { Account } from './account';
import { SearchBox } from './search';

const ROOM_KEY = 'gemini-chat.room';

/** Which view the page shows, and who is signed in. */
const session = createStore<{ view: 'auth' | 'chat'; who: string }>({ view: loadTokens() ? 'chat' : 'auth', who: '' });

// ---- signing in and out ----------------------------------------------------------------------

async function signOut() {
  await api.POST('/auth/logout').catch(() => undefined);
  leave();
}

function leave(message?: string) {
  saveTokens(undefined);
  sessionStorage.clear();
  discardAttachments();
  showConversation(undefined);
  session.set({ view: 'auth', who: '' });
  if (message) report(message);
}

whenSessionEnds(() => leave(new SessionEnded().message));

// ---- chatrooms -------------------------------------------------------------------------------

async function loadRooms() {
  rooms.set({ ...rooms.get(), items: (await ok(api.GET('/chatroom', { params: { query: { limit: 100 } } }))).items });
}

async function newRoom() {
  const room = await ok(api.POST('/chatroom', { body: {} }));
  rooms.set({ ...rooms.get(), items: [room, ...rooms.get().items] });
  await openRoom(room.id);
  document.getElementById('message')?.focus();
}

function choose(id: string | undefined) {
  rooms.set({ ...rooms.get(), currentId: id });
  if (id) sessionStorage.setItem(ROOM_KEY, id);
  else sessionStorage.removeItem(ROOM_KEY);
}

async function deleteRoom(room: Chatroom) {
  if (!confirm(`Delete "${room.title}" and all its messages?`)) return;
  await ok(api.DELETE('/chatroom/{id}', { params: { path: { id: room.id } } }));
  rooms.set({ ...rooms.get(), items: rooms.get().items.filter((r) => r.id !== room.id) });
  if (room.id === rooms.get().currentId) {
    choose(undefined);
    showConversation(undefined);
  }
}

async function openRoom(id: string) {
  choose(id);
  showConversation(await ok(api.GET('/chatroom/{id}', { params: { path: { id } } })));
}

/** A search hit: its chatroom, on the branch of its message (PUT current-message), the message in view. */
async function openAt(chatroomId: string, messageId: string | null) {
  if (messageId === null) return openRoom(chatroomId);
  choose(chatroomId);
  showConversation(await ok(api.PUT('/chatroom/{id}/current-message', { params: { path: { id: chatroomId } }, body: { messageId } })), messageId);
}

// ---- the session as a whole ------------------------------------------------------------------

async function enter() {
  clearReport();
  session.set({ ...session.get(), view: 'chat' });
  const me = await ok(api.GET('/user/me'));
  session.set({ view: 'chat', who: me.name ?? me.mobile });
  await Promise.all([loadRooms(), showAllowance()]);
  // Opened from a share's "Continue this conversation": its fork is the chat to open.
  const forked = await forkPendingShare();
  if (forked) {
    await loadRooms();
    await openRoom(forked);
    return;
  }
  const remembered = sessionStorage.getItem(ROOM_KEY);
  const { items } = rooms.get();
  if (remembered && items.some((room) => room.id === remembered)) await openRoom(remembered);
  else if (items[0]) await openRoom(items[0].id);
  else showConversation(undefined);
}

function App() {
  const { view, who } = useStore(session);
  return (
    <>
      <AlertRegion />
      {view === 'auth' && <AuthForm signedIn={enter} />}
      {view === 'chat' && (
        <div id="chat-view" class="chat">
          <aside class="sidebar">
            <button type="button" id="new-chat" class="primary" onClick={() => act(newRoom)}>
              New chat
            </button>
            <SearchBox openAt={openAt} />
            <RoomList open={(id) => act(() => openRoom(id))} remove={(room) => act(() => deleteRoom(room))} />
            <Account who={who} signOut={() => act(signOut)} />
          </aside>
          <ChatPane />
        </div>
      )}
    </>
  );
}

startSharing();
startConversation({ roomChanged, refreshRooms: () => act(loadRooms) });
render(<App />, document.body);
if (loadTokens()) act(enter, () => leave());

// Nothing may end in a blank page: an error nobody caught is still shown.
window.addEventListener('unhandledrejection', (event) => {
  if (event.reason instanceof SessionEnded) return;
  report(event.reason instanceof ApiError ? event.reason.message : `Something went wrong: ${String(event.reason)}`);
});
