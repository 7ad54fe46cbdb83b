import { describe, expect, it } from 'vitest';
import { createStore, selectFrom } from '../../web/src/store.js';

/*
 * The chat page's stores (web/src/store.ts): a view that reads a part of the open chat (its id, its
 * title, whether a reply streams: web/src/conversation.ts) hears of that part's changes only, so a
 * streamed reply's frames redraw the log and not the pane, its header or the composer.
 */

interface Chat {
  conversation: { id: string; title: string; messages: { id: string; content: string }[] } | undefined;
  streaming: boolean;
}

const opened: Chat = { conversation: { id: 'room-1', title: 'Planets', messages: [{ id: 'm1', content: 'Hi' }] }, streaming: true };
/** What a streamed delta does to the chat: new objects for what changed (the messages), the rest as it was. */
const withFrame = (chat: Chat, text: string): Chat => ({
  ...chat,
  conversation: chat.conversation && { ...chat.conversation, messages: [{ id: 'm1', content: text }] },
});

function listen(store: { subscribe(listener: () => void): () => void }) {
  const heard = { count: 0 };
  store.subscribe(() => (heard.count += 1));
  return heard;
}

describe('a part of a store, read as a store of its own', () => {
  it('tells its listeners nothing of streamed frames, which change the messages alone', () => {
    const chat = createStore<Chat>(opened);
    const id = selectFrom(chat, (state) => state.conversation?.id);
    const title = selectFrom(chat, (state) => state.conversation?.title);
    const streaming = selectFrom(chat, (state) => state.streaming);
    const [whole, ofId, ofTitle, ofStreaming] = [listen(chat), listen(id), listen(title), listen(streaming)];

    for (const text of ['Hi', 'Hi the', 'Hi there', 'Hi there!']) chat.set(withFrame(chat.get(), text));

    expect(whole.count).toBe(4); // the log, which draws the messages, hears every frame
    expect([ofId.count, ofTitle.count, ofStreaming.count]).toEqual([0, 0, 0]);
    expect([id.get(), title.get(), streaming.get()]).toEqual(['room-1', 'Planets', true]);
  });

  it('tells them once each time its part changes, and gives the new value', () => {
    const chat = createStore<Chat>(opened);
    const streaming = selectFrom(chat, (state) => state.streaming);
    const title = selectFrom(chat, (state) => state.conversation?.title);
    const [ofStreaming, ofTitle] = [listen(streaming), listen(title)];

    chat.set({ ...chat.get(), streaming: false });
    expect([ofStreaming.count, streaming.get()]).toEqual([1, false]);
    chat.set({ ...chat.get(), conversation: { ...opened.conversation!, title: 'Moons' } });
    expect([ofTitle.count, title.get()]).toEqual([1, 'Moons']);
    expect(ofStreaming.count).toBe(1);
    chat.set({ conversation: undefined, streaming: false });
    expect([ofTitle.count, title.get()]).toEqual([2, undefined]);
  });

  it('stops telling a listener once it unsubscribed', () => {
    const chat = createStore<Chat>(opened);
    const streaming = selectFrom(chat, (state) => state.streaming);
    let heard = 0;
    const unsubscribe = streaming.subscribe(() => (heard += 1));
    unsubscribe();
    chat.set({ ...chat.get(), streaming: false });
    expect(heard).toBe(0);
  });
});
