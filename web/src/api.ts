/**
 * The page's API client: openapi-fetch over the typed paths, with the access token added to every
 * request and refreshed once, transparently, when the API answers 401. Errors become ApiError,
 * carrying the problem's `detail` for the page to show.
 */
import createClient from 'openapi-fetch';
import type { ApiPaths, Problem, TokenPair } from './contract';

const TOKENS_KEY = 'gemini-chat.tokens';

type Tokens = Pick<TokenPair, 'accessToken' | 'refreshToken'>;

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title ?? `The server answered ${problem.status}`);
  }
  get code() {
    return this.problem.code;
  }
}

export function loadTokens(): Tokens | undefined {
  const stored = localStorage.getItem(TOKENS_KEY);
  if (!stored) return undefined;
  try {
    return JSON.parse(stored) as Tokens;
  } catch {
    return undefined;
  }
}

export function saveTokens(pair: Tokens | undefined): void {
  if (pair) localStorage.setItem(TOKENS_KEY, JSON.stringify({ accessToken: pair.accessToken, refreshToken: pair.refreshToken }));
  else localStorage.removeItem(TOKENS_KEY);
}

/** The session ended under a call (its refresh was refused): the page has already said so and shown the sign-in. */
export class SessionEnded extends Error {
  constructor() {
    super('Your session has ended: sign in again.');
  }
}

/** Called when the session cannot be refreshed any more (spent, revoked, or signed out elsewhere). */
let onSessionEnded: () => void = () => undefined;
export const whenSessionEnds = (handler: () => void) => {
  onSessionEnded = handler;
};

// One refresh at a time: refresh tokens rotate, so two parallel refreshes would spend the same one twice.
let refreshing: Promise<boolean> | undefined;

async function refreshTokens(): Promise<boolean> {
  const tokens = loadTokens();
  if (!tokens) return false;
  const response = await fetch('/auth/refresh', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refreshToken: tokens.refreshToken }),
  });
  if (!response.ok) return false;
  saveTokens((await response.json()) as TokenPair);
  return true;
}

const withToken = (request: Request) => {
  const tokens = loadTokens();
  if (tokens && !request.headers.has('authorization')) request.headers.set('authorization', `Bearer ${tokens.accessToken}`);
  return request;
};

/** The access token a request carries now; undefined when signed out. */
export const accessToken = (): string | undefined => loadTokens()?.accessToken;

/**
 * After a 401: new tokens, or SessionEnded (the page has said so and shown the sign-in) when the
 * session cannot be refreshed any more. For calls made outside `api` (an upload through XMLHttpRequest).
 */
export async function renewSession(): Promise<void> {
  refreshing ??= refreshTokens().finally(() => (refreshing = undefined));
  if (!(await refreshing)) {
    saveTokens(undefined);
    onSessionEnded();
    throw new SessionEnded();
  }
}

async function authorisedFetch(request: Request): Promise<Response> {
  const retry = request.clone();
  const response = await fetch(withToken(request));
  if (response.status !== 401 || !loadTokens() || request.url.endsWith('/auth/refresh')) return response;
  await renewSession();
  return fetch(withToken(retry));
}

/** A call to a path the typed client has no types for (a file's bytes), with the same token and refresh. */
export const fetchWithToken = (path: string, init?: RequestInit): Promise<Response> => authorisedFetch(new Request(new URL(path, location.origin), init));

export const api = createClient<ApiPaths>({ baseUrl: location.origin, fetch: authorisedFetch });

async function problemOf(response: Response, body: unknown): Promise<Problem> {
  if (body && typeof body === 'object' && 'status' in body) return body as Problem;
  if (body === undefined && !response.bodyUsed) {
    try {
      return problemOf(response, await response.json());
    } catch {
      // Not JSON (a proxy's page, say): fall through to the status line.
    }
  }
  return { status: response.status, detail: `The server answered ${response.status} ${response.statusText}`.trim() };
}

/** The data of a successful call, or an ApiError with the problem the API answered. */
export async function ok<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw new ApiError(await problemOf(response, error));
  return data as T;
}
