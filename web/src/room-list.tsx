/** The sidebar's list of chatrooms: open, rename (in place) and delete each. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ok } from './api';
import type { Chatroom } from './contract';
import { roomRenamed } from './conversation';
import { act } from './report';
import { createStore } from './store';
import { useStore } from './use-store';

/** The user's chatrooms (newest first) and the one open. */
export const rooms = createStore<{ items: Chatroom[]; currentId: string | undefined }>({ items: [], currentId: undefined });

/** A chatroom's title or settings changed elsewhere (its first reply titled it, say). */
export function roomChanged(room: Chatroom): void {
  const now = rooms.get();
  rooms.set({ ...now, items: now.items.map((r) => (r.id === room.id ? { ...r, ...room } : r)) });
}

export function RoomList({ open, remove }: { open: (id: string) => void; remove: (room: Chatroom) => void }) {
  const { items, currentId } = useStore(rooms);
  const [renaming, setRenaming] = useState<string | undefined>(undefined);
  return (
    <nav aria-label="Chats">
      <ul id="rooms">
        {items.map((room) => (
          <li key={room.id} class={room.id === currentId ? 'room current' : 'room'}>
            {renaming === room.id ? (
              <RenameForm room={room} done={() => setRenaming(undefined)} />
            ) : (
              <>
                <button
                  type="button"
                  class="room-open"
                  aria-label={`Open chat ${room.title}`}
                  aria-current={room.id === currentId ? 'page' : undefined}
                  onClick={() => open(room.id)}
                >
                  {room.title}
                </button>
                <button type="button" class="icon" aria-label={`Rename chat ${room.title}`} title="Rename" onClick={() => setRenaming(room.id)}>
                  ✎
                </button>
                <button type="button" class="icon" aria-label={`Delete chat ${room.title}`} title="Delete" onClick={() => remove(room)}>
                  ✕
                </button>
              </>
            )}
          </li>
        ))}
      </ul>
    </nav>
  );
}

function RenameForm({ room, done }: { room: Chatroom; done: () => void }) {
  const [title, setTitle] = useState(room.title);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.select(), []);
  return (
    <form
      class="rename"
      onSubmit={(event) => {
        event.preventDefault();
        act(async () => {
          const renamed = await ok(api.PATCH('/chatroom/{id}', { params: { path: { id: room.id } }, body: { title } }));
          roomChanged(renamed);
          roomRenamed(renamed);
          done();
        });
      }}
    >
      <input type="text" value={title} aria-label="Chat title" maxLength={120} required ref={input} onInput={(event) => setTitle(event.currentTarget.value)} />
      <button type="submit">Save title</button>
      <button type="button" onClick={done}>
        Cancel
      </button>
    </form>
  );
}
