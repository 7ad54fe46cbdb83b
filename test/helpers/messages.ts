import { expect } from 'vitest';
import type { TestApp } from './app.js';
import { bearer, type SignedInUser } from './factories.js';
import { waitFor } from './wait.js';

export interface Message {
  id: string;
  chatroomId: string;
  role: 'user' | 'model';
  content: string;
  status: 'pending' | 'streaming' | 'done' | 'failed';
  finishReason: string | null;
  error: { code: string; message: string } | null;
  usage: { promptTokens: number; outputTokens: number } | null;
  createdAt: string;
  completedAt: string | null;
}

export interface SseEvent {
  event: string;
  data: unknown;
}

/** Splits a finished text/event-stream body into its events (comment lines dropped). */
export function parseSse(body: string): SseEvent[] {
  return body
    .split('\n\n')
    .filter((block) => block.trim() && !block.startsWith(':'))
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message';
      const data = lines.find((l) => l.startsWith('data: '))?.slice(6) ?? 'null';
      return { event, data: JSON.parse(data) as unknown };
    });
}

export async function createRoom(t: TestApp, user: SignedInUser): Promise<string> {
  const res = await t.request({ method: 'POST', url: '/chatroom', headers: { ...bearer(user.accessToken), 'content-type': 'application/json' }, payload: '{}' });
  expect(res.statusCode).toBe(201);
  return res.json<{ id: string }>().id;
}

export function sendMessage(
  t: TestApp,
  user: SignedInUser,
  roomId: string,
  content: string,
  options: { wait?: boolean; headers?: Record<string, string> } = {},
) {
  return t.request({
    method: 'POST',
    url: `/chatroom/${roomId}/message${options.wait === false ? '?wait=false' : ''}`,
    headers: { ...bearer(user.accessToken), 'content-type': 'application/json', ...options.headers },
    payload: JSON.stringify({ content }),
  });
}

/** Polls a message until it is finished, as a client would; bounded, so a stuck reply fails the test. */
export function pollUntilFinished(t: TestApp, user: SignedInUser, roomId: string, messageId: string): Promise<Message> {
  return waitFor(
    async () => {
      const res = await t.request({ method: 'GET', url: `/chatroom/${roomId}/messages/${messageId}`, headers: bearer(user.accessToken) });
      expect(res.statusCode).toBe(200);
      const message = res.json<Message>();
      return message.status === 'done' || message.status === 'failed' ? message : undefined;
    },
    `message ${messageId} is finished`,
    { intervalMs: 25 },
  );
}

/** `r` of the `RateLimit` header: prompts left today. */
export function remainingOf(headers: Record<string, unknown>): number {
  const match = /;r=(\d+);/.exec(String(headers.ratelimit));
  if (!match?.[1]) throw new Error(`no RateLimit header in ${JSON.stringify(headers)}`);
  return Number(match[1]);
}
