/**
 * The Share panel of the open chat: create a link, copy it, list and revoke the chat's links. Keyed
 * by the chat (chat-pane.tsx): another chat opened starts a closed, empty panel.
 */
import { useRef, useState } from 'preact/hooks';
import { api, ok } from './api';
import type { ApiPaths } from './contract';
import { act } from './report';

type Share = ApiPaths['/chatroom/{id}/shares']['get']['responses']['200']['content']['application/json']['items'][number];

const COPIED_LABEL_MS = 1_500;

export function SharePanel({ chatroomId }: { chatroomId: string | undefined }) {
  const [links, setLinks] = useState<Share[] | undefined>(undefined);
  const [latest, setLatest] = useState<string | undefined>(undefined);
  const field = useRef<HTMLInputElement>(null);

  const requireRoom = () => {
    if (!chatroomId) throw new Error('Open a chat first');
    return chatroomId;
  };
  const loadShares = async () => {
    const id = requireRoom();
    setLinks((await ok(api.GET('/chatroom/{id}/shares', { params: { path: { id }, query: { limit: 100 } } }))).items);
  };
  const createShare = async () => {
    const id = requireRoom();
    const share = await ok(api.POST('/chatroom/{id}/shares', { params: { path: { id } } }));
    setLatest(share.url);
    // Selected once it is drawn, for a Ctrl+C.
    requestAnimationFrame(() => field.current?.select());
    await loadShares();
  };
  const revoke = async (share: Share) => {
    await ok(api.DELETE('/chatroom/{id}/shares/{shareId}', { params: { path: { id: share.chatroomId, shareId: share.id } } }));
    if (latest === share.url) setLatest(undefined);
    await loadShares();
  };

  return (
    <details id="sharing" onToggle={(event) => event.currentTarget.open && act(loadShares)}>
      <summary>Share</summary>
      <div class="card">
        <p class="hint">
          Anyone with a link reads this chat as it is now (later messages are not in it) and can continue it in a chat of their own. Revoke a link to end it.
        </p>
        <button type="button" id="create-share" class="primary" onClick={() => act(createShare)}>
          Create share link
        </button>
        <div id="share-latest">
          {/* Keyed by the link: a new link comes with a fresh "Copy link", not the last one's "Copied". */}
          {latest && (
            <div class="row" key={latest}>
              <input type="text" readOnly value={latest} aria-label="Share link" ref={field} />
              <CopyButton url={latest} label="Copy link" field={field} />
            </div>
          )}
        </div>
        <ul id="share-links" class="share-links" aria-label="Share links">
          {links?.length === 0 && <li class="empty">No links yet.</li>}
          {links?.map((share) => (
            <li key={share.id} class="share-link">
              <a href={share.url} target="_blank" rel="noopener noreferrer">
                {share.url}
              </a>
              <span class="hint">{`${share.messageCount} messages, ${new Date(share.createdAt).toLocaleString()}`}</span>
              <span class="row">
                <CopyButton url={share.url} label="Copy" ariaLabel={`Copy link ${share.url}`} />
                <button type="button" aria-label={`Revoke link ${share.url}`} onClick={() => act(() => revoke(share))}>
                  Revoke
                </button>
              </span>
            </li>
          ))}
        </ul>
      </div>
    </details>
  );
}

/** Copies a link; where the clipboard is not there (plain http), selects the link's field for Ctrl+C. */
function CopyButton({ url, label, ariaLabel, field }: { url: string; label: string; ariaLabel?: string; field?: { current: HTMLInputElement | null } }) {
  const [said, setSaid] = useState<string | undefined>(undefined);
  const copy = async () => {
    try {
      // navigator.clipboard exists on https and localhost only.
      await navigator.clipboard.writeText(url);
      setSaid('Copied');
    } catch {
      field?.current?.select();
      setSaid('Press Ctrl+C');
    }
    setTimeout(() => setSaid(undefined), COPIED_LABEL_MS);
  };
  return (
    <button type="button" aria-label={ariaLabel} onClick={() => void copy()}>
      {said ?? label}
    </button>
  );
}
