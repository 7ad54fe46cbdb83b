/**
 * The chat page at GET /, driven in headless Chromium (Debian's /usr/bin/chromium, through
 * playwright-core) against an embedded server listening on a real port, with the fake Gemini at the
 * wire, then files in prompts on the offline stand-in. Each scenario signs up its own user, so the
 * daily allowance of one does not leak into another. A screenshot of every step lands in
 * test-artifacts/screenshots/ (CI's artifact folder). Both parts live in this one file because each
 * builds the page into dist/public: two files running at once would delete it under each other.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bundlePage } from '../web/build/build-page.js';
import { startFakeGemini, type FakeGemini } from './fakes/gemini-server.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { makeMobile } from './helpers/factories.js';
import { testMode } from './helpers/mode.js';
import { heicBytes } from './unit/fixtures/sample-files.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = 'test-artifacts/screenshots';
const DAILY_LIMIT = 3;
// Long enough for a loaded CI machine; every wait below ends as soon as its condition holds.
const WAIT = { timeout: 15_000 };

let gemini: FakeGemini;
let t: TestApp;
let baseUrl: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let pageErrors: string[];
/** Console errors a scenario provokes on purpose and proves (set by the test, cleared for each page). */
let expectedConsoleErrors: RegExp[] = [];

/** Chromium with a fresh temporary profile (launch() gives every run its own --user-data-dir). */
async function launchBrowser(): Promise<Browser> {
  // Loud, not skipped: CI installs it (.ci/run), and a machine without it cannot prove the page.
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (see .ci/run)`);
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

async function listen(app: TestApp): Promise<string> {
  await app.app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.app.server.address() as AddressInfo).port}/`;
}

/** A new browser context and page, whose errors (uncaught, or any console error) fail the test in afterEach. */
async function openPage() {
  context = await browser.newContext({ viewport: { width: 1180, height: 760 } });
  page = await context.newPage();
  pageErrors = [];
  expectedConsoleErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // No console error but the API's own refusals that a scenario provokes on purpose (a wrong password,
  // the spent allowance, a refused file: Chromium logs each as a failed load; the page shows it). A CSP
  // violation (the page must live without inline code) or anything the page or the browser loads and
  // does not get (a /favicon.ico 404 is one in every browser) fails the test.
  page.on('console', (message) => {
    if (message.type() !== 'error' || expectedConsoleErrors.some((pattern) => pattern.test(message.text()))) return;
    const { url } = message.location();
    const ownResource = url === '' || /^\/(assets\/.*|favicon\.ico)?$/.test(new URL(url).pathname);
    if (!message.text().startsWith('Failed to load resource') || ownResource) pageErrors.push(`${message.text()} (${url})`);
  });
}

async function closePage() {
  await context.close();
  expect(pageErrors).toEqual([]);
}

async function shot(name: string) {
  await page.screenshot({ path: `${SCREENSHOTS}/${name}.png` });
}

const button = (name: string) => page.getByRole('button', { name, exact: true });
const conversation = () => page.getByRole('log', { name: 'Conversation' });
const replies = () => conversation().getByRole('article', { name: 'Gemini' });
const prompts = () => conversation().getByRole('article', { name: 'You' });
const textOf = (locator: ReturnType<Page['locator']>) => () => locator.locator('.content').textContent();

async function signUp(password = 'correct horse battery') {
  const mobile = makeMobile();
  await page.goto(baseUrl);
  await page.getByLabel('Mobile number').fill(mobile);
  await page.getByLabel('Password').fill(password);
  await button('Create account').click();
  await expect.poll(() => page.getByRole('status').filter({ hasText: 'Your code is' }).count(), WAIT).toBe(1);
  await expect.poll(() => page.getByLabel('Code').inputValue(), WAIT).toMatch(/^\d{6}$/);
  await button('Verify code').click();
  await button('New chat').waitFor(WAIT);
  return { mobile, password };
}

async function newChat() {
  await button('New chat').click();
  await expect.poll(() => page.getByRole('heading', { level: 2 }).textContent(), WAIT).toBe('New chat');
  await page.getByLabel('Message').waitFor(WAIT);
}

async function send(text: string) {
  await page.getByLabel('Message').fill(text);
  await button('Send').click();
}

/** Waits until no reply streams any more (the Stop button is gone and Send is back). */
async function replyFinished() {
  await button('Stop').waitFor({ state: 'hidden', ...WAIT });
  await expect.poll(() => button('Send').isEnabled(), WAIT).toBe(true);
}

/**
 * For one describe: Chromium, the fake Gemini, and an app on it (with `env` added), started once; a
 * fresh page before each test.
 */
function withBrowserAndApp(env: Record<string, string>) {
  beforeAll(async () => {
    browser = await launchBrowser();
    gemini = await startFakeGemini();
    t = await startTestApp({ env: { GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: gemini.url, GEMINI_MODEL: 'gemini-test', AUTO_TITLE: 'false', ...env } });
    baseUrl = await listen(t);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await gemini?.close();
  });

  beforeEach(async () => {
    gemini.reset();
    await openPage();
  });

  afterEach(closePage);
}

// Once for the file: the bundle replaces dist/public, which an `npm start` of another test file may be
// building at the same moment; one replacement instead of one per describe narrows that window.
beforeAll(async () => {
  if (testMode === 'embedded') await bundlePage();
});

describe.runIf(testMode === 'embedded')('chat page in headless Chromium (embedded mode only: one browser run covers the page)', { timeout: 90_000 }, () => {
  withBrowserAndApp({ GEMINI_MODELS: 'gemini-test,gemini-other', BASIC_DAILY_LIMIT: String(DAILY_LIMIT) });

  it('serves the page to a browser and keeps the JSON index for scripts', async () => {
    const html = await fetch(baseUrl, { headers: { accept: 'text/html' } });
    expect(html.headers.get('content-type')).toContain('text/html');
    expect(html.headers.get('content-security-policy')).toContain("script-src 'self'");
    const index = await fetch(baseUrl, { headers: { accept: 'application/json' } });
    expect(await index.json()).toMatchObject({ docs: '/docs', openapi: '/openapi.json', page: '/' });
    // A desktop browser asks every site for /favicon.ico (headless Chromium does not, so ask as it would).
    await page.goto(baseUrl);
    const icon = await page.request.get(`${baseUrl}favicon.ico`, { headers: { accept: 'image/avif,image/webp,image/png,image/*;q=0.8,*/*;q=0.5' } });
    expect(icon.status()).toBe(204);
  });

  it('signs up with the code shown in the page, signs out, and signs in again by password and by code', async () => {
    const { mobile, password } = await signUp();
    await shot('01-signed-up');
    await expect.poll(() => page.locator('#allowance').textContent(), WAIT).toContain(`${DAILY_LIMIT} of ${DAILY_LIMIT} prompts left today`);

    await button('Sign out').click();
    await page.getByLabel('Mobile number').fill(mobile);
    await page.getByLabel('Password').fill(password);
    await shot('02-sign-in-form');
    await button('Sign in').click();
    await button('New chat').waitFor(WAIT);

    await button('Sign out').click();
    t.clock.advance(31_000); // past the resend cooldown of the code that verified the signup
    await page.getByLabel('Mobile number').fill(mobile);
    await button('Send code').click();
    await expect.poll(() => page.getByLabel('Code').inputValue(), WAIT).toMatch(/^\d{6}$/);
    await button('Verify code').click();
    await button('New chat').waitFor(WAIT);

    await button('Sign out').click();
    await page.getByLabel('Mobile number').fill(mobile);
    await page.getByLabel('Password').fill('not the password');
    await button('Sign in').click();
    // The API's problem detail, in the page.
    await expect.poll(() => page.getByRole('alert').textContent(), WAIT).toMatch(/mobile number or password/i);
    await shot('03-wrong-password');
  });

  it('refreshes an expired access token transparently, and signs out when the session is gone', async () => {
    await signUp();
    const tokens = () => page.evaluate(() => localStorage.getItem('gemini-chat.tokens'));
    const before = await tokens();
    t.clock.advance(16 * 60_000); // past the access token's 15 minutes
    await newChat();
    await expect.poll(() => page.getByRole('navigation', { name: 'Chats' }).getByRole('listitem').count(), WAIT).toBe(1);
    expect(await tokens()).not.toBe(before);

    // Another device signs this session out: the next call cannot refresh, and the page says so.
    await page.evaluate(() => {
      const stored = JSON.parse(localStorage.getItem('gemini-chat.tokens') ?? '{}') as { refreshToken?: string };
      localStorage.setItem('gemini-chat.tokens', JSON.stringify({ accessToken: 'expired', refreshToken: `${stored.refreshToken ?? ''}x` }));
    });
    await button('New chat').click();
    await page.getByLabel('Mobile number').waitFor(WAIT);
    await expect.poll(() => page.getByRole('alert').textContent(), WAIT).toContain('Your session has ended');
  });

  it('creates, renames and deletes chatrooms in the sidebar', async () => {
    await signUp();
    await newChat();
    await newChat();
    const chats = page.getByRole('navigation', { name: 'Chats' });
    await expect.poll(() => chats.getByRole('listitem').count(), WAIT).toBe(2);
    await chats.getByRole('button', { name: 'Rename chat New chat' }).first().click();
    await page.getByLabel('Chat title').fill('Trip to Goa');
    await button('Save title').click();
    await expect.poll(() => chats.getByRole('button', { name: 'Open chat Trip to Goa', exact: true }).count(), WAIT).toBe(1);
    await shot('04-chatrooms');

    page.once('dialog', (dialog) => void dialog.accept());
    await chats.getByRole('button', { name: 'Delete chat Trip to Goa' }).click();
    await expect.poll(() => chats.getByRole('listitem').count(), WAIT).toBe(1);
    await page.reload();
    await expect.poll(() => chats.getByRole('listitem').allTextContents(), WAIT).toEqual([expect.stringContaining('New chat')]);
  });

  it('sends a prompt and shows the reply streaming in, with Stop while it streams', async () => {
    let open = () => undefined as void;
    const held = new Promise<void>((resolve) => (open = resolve));
    gemini.enqueue({ kind: 'reply', chunks: ['The sky ', 'looks blue ', 'because of Rayleigh scattering.'], chunkDelayMs: 150, gate: held });
    await signUp();
    await newChat();
    await send('Why is the sky blue?');

    await expect.poll(textOf(prompts().last()), WAIT).toBe('Why is the sky blue?');
    await button('Stop').waitFor(WAIT);
    await expect.poll(() => replies().last().textContent(), WAIT).toContain('Thinking');
    await shot('05-waiting-for-reply');
    open();
    await expect.poll(textOf(replies().last()), WAIT).toMatch(/^The sky /);
    await shot('06-reply-streaming');
    await expect.poll(textOf(replies().last()), WAIT).toBe('The sky looks blue because of Rayleigh scattering.');
    await replyFinished();
    await expect.poll(() => page.locator('#allowance').textContent(), WAIT).toContain(`${DAILY_LIMIT - 1} of ${DAILY_LIMIT} prompts left`);
    await shot('07-reply-done');
    expect(gemini.prompts()).toEqual(['Why is the sky blue?']);
  });

  it('stops a slow reply: it keeps the text so far and says it was stopped', async () => {
    const words = Array.from({ length: 40 }, (_, i) => `word${i} `);
    gemini.enqueue({ kind: 'reply', chunks: words, chunkDelayMs: 200 });
    await signUp();
    await newChat();
    await send('Count slowly');
    await expect.poll(textOf(replies().last()), WAIT).toMatch(/^word0 /);
    await button('Stop').click();
    await replyFinished();
    await expect.poll(() => replies().last().locator('.note').textContent(), WAIT).toBe('Stopped');
    const kept = (await textOf(replies().last())()) ?? '';
    expect(kept.startsWith('word0 ')).toBe(true);
    expect(kept.length).toBeLessThan(words.join('').length);
    await button('Regenerate').waitFor(WAIT);
    await shot('08-stopped');
  });

  it('resumes a reply after a reload mid-stream, from the last event it saw (Last-Event-ID)', async () => {
    const chunks = Array.from({ length: 12 }, (_, i) => `part${i} `);
    gemini.enqueue({ kind: 'reply', chunks, chunkDelayMs: 250 });
    await signUp();
    await newChat();
    await send('Tell me a long story');
    await expect.poll(textOf(replies().last()), WAIT).toMatch(/^part0 part1 /);
    await shot('09-before-reload');

    const resumed = page.waitForRequest((request) => request.url().endsWith('/stream') && request.headers()['last-event-id'] !== undefined, WAIT);
    await page.reload();
    await resumed;
    await expect.poll(textOf(replies().last()), WAIT).toMatch(/^part0 part1 /);
    await shot('10-resumed-after-reload');
    // Exactly the whole text: nothing missed, nothing twice.
    await expect.poll(textOf(replies().last()), WAIT).toBe(chunks.join(''));
    await replyFinished();
    expect(gemini.requests).toHaveLength(1);
  });

  it('regenerates the last reply, moves between the two with ‹ 1/2 ›, and edits the prompt into a new branch', async () => {
    gemini.enqueue(
      { kind: 'reply', chunks: ['First answer.'] },
      { kind: 'reply', chunks: ['Second answer.'] },
      { kind: 'reply', chunks: ['Answer to the edit.'] },
    );
    await signUp();
    await newChat();
    await send('Name a colour');
    await expect.poll(textOf(replies().last()), WAIT).toBe('First answer.');
    await replyFinished();

    await button('Regenerate').click();
    await expect.poll(textOf(replies().last()), WAIT).toBe('Second answer.');
    await replyFinished();
    await expect.poll(() => replies().last().locator('.branch-position').textContent(), WAIT).toBe('2/2');
    await shot('11-regenerated');

    await page.getByRole('button', { name: 'Previous reply version' }).click();
    await expect.poll(textOf(replies().last()), WAIT).toBe('First answer.');
    await expect.poll(() => replies().last().locator('.branch-position').textContent(), WAIT).toBe('1/2');
    await shot('12-previous-branch');

    await prompts().last().getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Edited prompt').fill('Name a fruit');
    await button('Send edit').click();
    await expect.poll(textOf(replies().last()), WAIT).toBe('Answer to the edit.');
    await replyFinished();
    await expect.poll(textOf(prompts().last()), WAIT).toBe('Name a fruit');
    await expect.poll(() => prompts().last().locator('.branch-position').textContent(), WAIT).toBe('2/2');
    await shot('13-edited-prompt');
    expect(gemini.prompts()).toEqual(['Name a colour', 'Name a colour', 'Name a fruit']);
  });

  it('searches as the user types (matched words marked, the snippet as text) and opens a hit on its own branch', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['Book the café early.'] }, { kind: 'reply', chunks: ['Fine, something else.'] });
    await signUp();
    await newChat();
    await send('Plan the Zürich trip <b>soon</b>');
    await expect.poll(textOf(replies().last()), WAIT).toBe('Book the café early.');
    await replyFinished();
    // An edit: the Zürich prompt is no longer on the branch on screen.
    await prompts().last().getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Edited prompt').fill('Something else entirely');
    await button('Send edit').click();
    await expect.poll(textOf(replies().last()), WAIT).toBe('Fine, something else.');
    await replyFinished();
    await expect.poll(textOf(prompts().last()), WAIT).toBe('Something else entirely');

    await page.getByLabel('Search chats').pressSequentially('zurich', { delay: 30 });
    const results = page.getByRole('list', { name: 'Search results' });
    await expect.poll(() => results.locator('.search-hit').count(), WAIT).toBe(1);
    const hit = results.locator('.search-hit').first();
    expect(await hit.locator('mark').allTextContents()).toEqual(['Zürich']);
    expect(await hit.locator('.search-snippet').textContent()).toBe('Plan the Zürich trip <b>soon</b>');
    expect(await hit.locator('b').count()).toBe(0); // shown as text, never parsed
    await shot('21-search-results');

    await page.getByLabel('Search chats').press('Enter');
    await expect.poll(textOf(prompts().last()), WAIT).toBe('Plan the Zürich trip <b>soon</b>');
    await expect.poll(textOf(replies().last()), WAIT).toBe('Book the café early.');
    await expect.poll(() => prompts().last().locator('.branch-position').textContent(), WAIT).toBe('1/2');
    await shot('22-search-opened-branch');

    await page.getByLabel('Search chats').fill('nothing-like-this');
    await expect.poll(() => results.textContent(), WAIT).toBe('Nothing found for "nothing-like-this"');
  });

  it('rates an answer with thumbs up or down and a reason, keeps the rating across a reload, and takes it back', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['An answer to rate.'] });
    await signUp();
    await newChat();
    await send('Rate me');
    await expect.poll(textOf(replies().last()), WAIT).toBe('An answer to rate.');
    await replyFinished();
    expect(await prompts().last().getByRole('button', { name: 'Good answer' }).count()).toBe(0);

    const good = () => replies().last().getByRole('button', { name: 'Good answer' });
    const bad = () => replies().last().getByRole('button', { name: 'Bad answer' });
    const reason = () => replies().last().getByLabel('Reason (optional)');
    await good().click();
    await expect.poll(() => good().getAttribute('aria-pressed'), WAIT).toBe('true');
    await bad().click();
    await expect.poll(() => bad().getAttribute('aria-pressed'), WAIT).toBe('true');
    expect(await good().getAttribute('aria-pressed')).toBe('false');
    await reason().selectOption('inaccurate');
    await expect.poll(() => reason().inputValue(), WAIT).toBe('inaccurate');
    await shot('23-rated');

    await page.reload();
    await expect.poll(() => bad().getAttribute('aria-pressed'), WAIT).toBe('true');
    await expect.poll(() => reason().inputValue(), WAIT).toBe('inaccurate');

    await bad().click();
    await expect.poll(() => bad().getAttribute('aria-pressed'), WAIT).toBe('false');
    expect(await reason().count()).toBe(0);
  });

  it('saves per-chat settings (system instruction, a model from GET /models, temperature) that the model then gets, and exports the chat as Markdown', async () => {
    await signUp();
    await newChat();
    await page.getByText('Chat settings').click();
    await expect.poll(() => page.getByLabel('Model').locator('option').allTextContents(), WAIT).toEqual(['Server default', 'gemini-test (default)', 'gemini-other']);
    await page.getByLabel('System instruction').fill('Answer like a pirate');
    await page.getByLabel('Model').selectOption('gemini-other');
    await page.getByLabel('Temperature').fill('0.3');
    await button('Save settings').click();
    await expect.poll(() => page.getByRole('alert').textContent(), WAIT).toContain('Settings saved');
    await shot('17-settings');
    // While the notice is up, the header's controls stay within reach: a click on one that something
    // covered would land on that instead, and fail.
    const settingsForm = page.locator('#settings-form');
    await page.getByText('Chat settings').click();
    await expect.poll(() => settingsForm.isVisible(), WAIT).toBe(false);
    await page.getByText('Share', { exact: true }).click();
    await button('Create share link').waitFor(WAIT);
    await page.getByText('Share', { exact: true }).click();
    await button('Create share link').waitFor({ state: 'hidden', ...WAIT });
    expect(await page.getByRole('alert').isVisible()).toBe(true);
    await shot('17b-notice-beside-the-header');
    await button('Dismiss').click();
    await expect.poll(() => page.getByRole('alert').isVisible(), WAIT).toBe(false);

    await page.reload();
    await page.getByText('Chat settings').click();
    await expect.poll(() => page.getByLabel('System instruction').inputValue(), WAIT).toBe('Answer like a pirate');
    await expect.poll(() => page.getByLabel('Model').inputValue(), WAIT).toBe('gemini-other');
    await expect.poll(() => page.getByLabel('Temperature').inputValue(), WAIT).toBe('0.3');
    await page.getByText('Chat settings').click();
    await send('Ahoy?');
    await expect.poll(textOf(replies().last()), WAIT).toBe('Hello from fake Gemini.');
    await replyFinished();
    const [call] = gemini.requests;
    expect(call?.model).toBe('gemini-other');
    expect(JSON.stringify(call?.body.systemInstruction)).toContain('Answer like a pirate');
    expect(call?.body.generationConfig).toMatchObject({ temperature: 0.3 });

    const downloaded = page.waitForEvent('download', WAIT);
    await button('Export Markdown').click();
    const file = await downloaded;
    expect(file.suggestedFilename()).toMatch(/\.md$/);
    const markdown = readFileSync(await file.path(), 'utf8');
    expect(markdown).toContain('Ahoy?');
    expect(markdown).toContain('Hello from fake Gemini.');
  });

  it('spends the Basic allowance, explains the 429, upgrades through the simulated checkout and sends again', async () => {
    await signUp();
    await newChat();
    for (let i = 1; i <= DAILY_LIMIT; i += 1) {
      await send(`Prompt ${i}`);
      await expect.poll(() => replies().count(), WAIT).toBe(i);
      await replyFinished();
    }
    await expect.poll(() => page.locator('#allowance').textContent(), WAIT).toContain(`0 of ${DAILY_LIMIT} prompts left`);
    await send('One more');
    await expect.poll(() => page.getByRole('alert').textContent(), WAIT).toMatch(
      new RegExp(`You have used today's ${DAILY_LIMIT} prompts on the Basic plan; they come back at \\d\\d:\\d\\d\\.`),
    );
    await expect.poll(() => page.getByLabel('Message').inputValue(), WAIT).toBe('One more');
    expect(await replies().count()).toBe(DAILY_LIMIT);
    await shot('14-allowance-spent');

    const checkoutOpened = context.waitForEvent('page', WAIT);
    await button('Upgrade to Pro').click();
    const checkout = await checkoutOpened;
    await checkout.getByRole('button', { name: 'Pay' }).click();
    await checkout.getByRole('heading', { name: 'Payment received' }).waitFor(WAIT);
    await checkout.close();

    await expect.poll(() => page.locator('#plan').textContent(), WAIT).toBe('Pro');
    await expect.poll(() => page.getByRole('alert').textContent(), WAIT).toContain('Welcome to Pro');
    await shot('15-pro');
    await button('Send').click();
    await expect.poll(() => replies().count(), WAIT).toBe(DAILY_LIMIT + 1);
    await replyFinished();
    await expect.poll(textOf(prompts().last()), WAIT).toBe('One more');
    await shot('16-sent-as-pro');
  });
});

// ---- replies rendered as Markdown --------------------------------------------------------------

/** What the page-side functions below use of the browser: this file is type-checked without the DOM library. */
interface PageClipboard {
  navigator: { clipboard: { readText(): Promise<string> } };
}
interface PageMarked {
  probe?: string;
}
interface PageStyles {
  getComputedStyle(element: unknown): { paddingTop: string; borderTopWidth: string };
}

const MARKDOWN_REPLY = [
  '## Planets\n\nTwo of them, **by moons**:\n\n',
  '| Planet | Moons |\n|:--|--:|\n| Earth | 1 |\n',
  '| Mars | 2 |\n\n- rocky\n- small\n\n',
  '```ts\nconst answer = 42;\nconsole.log(answer);\n```\n\n',
  'More at [the planet list](https://example.com/planets).',
];

const HOSTILE_REPLY = [
  'Before <img src=x onerror=alert(1)> after\n\n',
  '<script>alert(2)</script>\n\n',
  '[click](javascript:alert(3)) and [data](data:text/html;base64,PHNjcmlwdD5hbGVydCg0KTwvc2NyaXB0Pg==) and [cased](JaVaScRiPt:alert(5))\n\n',
  '<a href="javascript:alert(6)">raw link</a> <b onmouseover="alert(7)">bold</b>\n\n',
  '<iframe src="https://example.com/"></iframe><form action="https://example.com/"><input name="q"><button>go</button></form><style>body { display: none }</style>\n\n',
  '![tracker](https://example.com/pixel.png)\n\n',
  'A [normal link](https://example.com/docs).',
];

describe.runIf(testMode === 'embedded')('replies rendered as Markdown, in headless Chromium', { timeout: 90_000 }, () => {
  withBrowserAndApp({});

  it('renders a table, a list and a code block whose Copy button copies the code; the prompt stays plain text', async () => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(baseUrl).origin });
    gemini.enqueue({ kind: 'reply', chunks: MARKDOWN_REPLY, chunkDelayMs: 50 });
    await signUp();
    await newChat();
    await send('List **two** planets as a table');
    await replyFinished();
    const reply = replies().last();

    await expect.poll(() => reply.getByRole('heading', { level: 2 }).textContent(), WAIT).toBe('Planets');
    expect(await reply.locator('strong').textContent()).toBe('by moons');
    expect(await reply.locator('table th').allTextContents()).toEqual(['Planet', 'Moons']);
    expect(await reply.locator('table td').allTextContents()).toEqual(['Earth', '1', 'Mars', '2']);
    expect(await reply.locator('ul li').allTextContents()).toEqual(['rocky', 'small']);
    expect(await reply.locator('pre code').textContent()).toBe('const answer = 42;\nconsole.log(answer);\n');
    expect(await reply.locator('.content').textContent()).not.toMatch(/\||```|##/);
    // The prompt is what the user typed, asterisks and all.
    await expect.poll(textOf(prompts().last()), WAIT).toBe('List **two** planets as a table');
    expect(await prompts().last().locator('strong').count()).toBe(0);
    await shot('25-markdown-reply');

    await reply.getByRole('button', { name: 'Copy', exact: true }).click();
    await expect.poll(() => reply.locator('.copy-code').textContent(), WAIT).toBe('Copied');
    const copied = await page.evaluate(() => (globalThis as unknown as PageClipboard).navigator.clipboard.readText());
    expect(copied).toBe('const answer = 42;\nconsole.log(answer);');
  });

  it('draws a streaming reply in place: the rest of the log stays the same elements while its deltas come', async () => {
    let release = () => undefined as void;
    const held = new Promise<void>((resolve) => (release = resolve));
    gemini.enqueue({ kind: 'reply', chunks: ['First answer.'] }, { kind: 'reply', chunks: MARKDOWN_REPLY, chunkDelayMs: 200, holdAfter: { chunks: 3, until: held } });
    await signUp();
    await newChat();
    await send('First question');
    await expect.poll(textOf(replies().last()), WAIT).toBe('First answer.');
    await replyFinished();

    await send('Second question');
    await expect.poll(textOf(replies().last()), WAIT).toContain('Planets');
    // Marks on the elements on screen once the reply has begun: a redraw of the log would replace them.
    const mark = (article: Locator, probe: string) => article.evaluate((element, value) => void ((element as PageMarked).probe = value), probe);
    const markOf = (article: Locator) => article.evaluate((element) => (element as PageMarked).probe);
    await mark(replies().first(), 'first reply');
    await mark(prompts().last(), 'second prompt');
    await mark(replies().last(), 'streaming reply');
    // The third chunk completes the table; the model is then held, so the reply is still streaming.
    await expect.poll(() => replies().last().locator('table tbody tr').count(), WAIT).toBe(2);
    expect(await button('Stop').isVisible()).toBe(true);
    expect([await markOf(replies().first()), await markOf(prompts().last()), await markOf(replies().last())]).toEqual(['first reply', 'second prompt', 'streaming reply']);
    expect(await replies().first().locator('.content').textContent()).toBe('First answer.');
    await shot('26-markdown-streaming');

    release();
    await expect.poll(() => replies().last().locator('pre code').count(), WAIT).toBe(1);
    await replyFinished();
    expect(await replies().last().getByRole('link').textContent()).toBe('the planet list');
  });

  it('runs nothing from a hostile reply: no image, script, frame, form, style, inline handler, or javascript:/data: link; a normal link opens in a new tab', async () => {
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    gemini.enqueue({ kind: 'reply', chunks: HOSTILE_REPLY, chunkDelayMs: 30 });
    await signUp();
    await newChat();
    await send('Say something nasty');
    await replyFinished();
    const reply = replies().last();
    await expect.poll(textOf(reply), WAIT).toContain('A normal link.');

    const content = reply.locator('.content');
    for (const selector of ['img', 'script', 'iframe', 'form', 'input', 'button', 'style', '[onerror]', '[onmouseover]', '[style]']) {
      expect(await content.locator(selector).count(), selector).toBe(0);
    }
    // The one link left is the normal one; the others keep their words, without an address.
    const links = content.locator('a');
    expect(await links.count()).toBe(1);
    expect(await links.getAttribute('href')).toBe('https://example.com/docs');
    expect(await links.getAttribute('target')).toBe('_blank');
    expect(await links.getAttribute('rel')).toBe('noopener noreferrer');
    // The model's HTML is shown as the text it wrote, never parsed; an image shows its alt text.
    const text = (await content.textContent()) ?? '';
    for (const kept of ['Before <img src=x onerror=alert(1)> after', '<script>alert(2)</script>', 'click and data and cased', '<b onmouseover="alert(7)">bold</b>', 'tracker']) {
      expect(text).toContain(kept);
    }
    expect(await content.locator('[href]').evaluateAll((elements) => elements.map((element) => (element as unknown as { href: string }).href))).toEqual([
      'https://example.com/docs',
    ]);

    // What a user might do with it: hover and click the words that were links.
    const before = page.url();
    await content.getByText('bold').hover();
    await content.getByText('click and data').click();
    expect(page.url()).toBe(before);
    await shot('27-hostile-reply');
    expect(dialogs).toEqual([]);
  });

  it('shows a grounded, thinking reply: thoughts collapsed under "Show thinking", numbered citations linking to the sources, and Google\'s suggestions in a frame that runs no script', async () => {
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const first = 'The Eiffel Tower is 330 metres tall.';
    const second = ' It was finished in 1889.';
    const answer = `${first}${second}`;
    // Google's suggestions as hostile as can be: a script, an inline handler, and a link.
    const entryPoint =
      '<style>.chip{color:#1a73e8}</style><a class="chip" href="https://www.google.com/search?q=eiffel">eiffel tower height</a>' +
      '<script>parent.document.title = "taken"; alert("frame script")</script><svg width="0" height="0" onload="alert(\'frame handler\')"></svg>';
    // Chromium says so each time the frame's sandbox stops one of the suggestions' scripts: the proof, counted below.
    const BLOCKED_IN_FRAME = /^Blocked script execution in 'about:srcdoc' because the document's frame is sandboxed/;
    expectedConsoleErrors = [BLOCKED_IN_FRAME];
    let blockedInFrame = 0;
    page.on('console', (message) => void (BLOCKED_IN_FRAME.test(message.text()) && (blockedInFrame += 1)));
    gemini.enqueue({
      kind: 'reply',
      thoughts: ['Recalling the **height** of the tower.'],
      chunks: [first, second],
      chunkDelayMs: 30,
      groundingMetadata: {
        webSearchQueries: ['eiffel tower height'],
        groundingChunks: [
          { web: { uri: 'https://example.org/eiffel', title: 'Eiffel Tower facts' } },
          { web: { uri: 'https://example.com/history', title: 'A history of Paris' } },
        ],
        groundingSupports: [
          { segment: { startIndex: 0, endIndex: first.length }, groundingChunkIndices: [0] },
          { segment: { startIndex: first.length, endIndex: answer.length }, groundingChunkIndices: [0, 1] },
        ],
        searchEntryPoint: { renderedContent: entryPoint },
      },
    });
    await signUp();
    await newChat();
    const title = await page.title();

    await page.getByText('Chat settings').click();
    await page.getByLabel('Google Search (answers cite their sources)').check();
    await page.getByLabel('Thinking budget (tokens)').fill('1024');
    await page.getByLabel('Show thinking in replies').check();
    await button('Save settings').click();
    await expect.poll(() => page.getByRole('alert').textContent(), WAIT).toContain('Settings saved');
    await page.getByText('Chat settings').click();
    // Dismissed, so that the README's picture of the page (below) shows the conversation alone.
    await button('Dismiss').click();

    await send('How tall is the Eiffel Tower?');
    await replyFinished();
    const reply = replies().last();
    expect(gemini.requests[0]?.body.tools).toEqual([{ googleSearch: {} }]);
    expect(gemini.requests[0]?.body.generationConfig).toMatchObject({ thinkingConfig: { thinkingBudget: 1024, includeThoughts: true } });

    // The thoughts: there, collapsed, rendered as Markdown once opened; never in the answer.
    const thoughts = reply.locator('details.thoughts');
    await expect.poll(() => thoughts.count(), WAIT).toBe(1);
    expect(await thoughts.evaluate((element) => (element as unknown as { open: boolean }).open)).toBe(false);
    expect(await reply.locator('.content').textContent()).not.toContain('Recalling');
    await thoughts.getByText('Show thinking').click();
    await expect.poll(() => thoughts.locator('strong').textContent(), WAIT).toBe('height');

    // Citations: a numbered superscript after each cited span, each linking to its source under the answer.
    const marks = reply.locator('.content sup.citation a');
    expect(await marks.allTextContents()).toEqual(['1', '1', '2']);
    expect(await reply.locator('.content').textContent()).toBe(`${first}1${second}12`);
    const sources = reply.locator('ol.sources li');
    expect(await sources.allTextContents()).toEqual(['Eiffel Tower facts', 'A history of Paris']);
    type Named = { id: string; getAttribute(name: string): string | null };
    const targets = await marks.evaluateAll((links) => (links as unknown as Named[]).map((link) => link.getAttribute('href')));
    const ids = await sources.evaluateAll((items) => (items as unknown as Named[]).map((item) => `#${item.id}`));
    expect(targets).toEqual([ids[0], ids[0], ids[1]]);
    const sourceLink = sources.first().getByRole('link');
    expect(await sourceLink.getAttribute('href')).toBe('https://example.org/eiffel');
    expect(await sourceLink.getAttribute('target')).toBe('_blank');
    expect(await sourceLink.getAttribute('rel')).toBe('noopener noreferrer');

    // Google's suggestions: in a frame sandboxed without scripts or same-origin access.
    const frame = reply.locator('iframe.search-suggestions');
    expect(await frame.count()).toBe(1);
    const sandbox = (await frame.getAttribute('sandbox')) ?? '';
    expect(sandbox.split(' ')).not.toContain('allow-scripts');
    expect(sandbox.split(' ')).not.toContain('allow-same-origin');
    await expect.poll(() => page.frameLocator('iframe.search-suggestions').getByText('eiffel tower height').count(), WAIT).toBe(1);
    await shot('28-grounded-reply');
    await reply.screenshot({ path: 'docs/chat-page-grounding.png' });
    await page.screenshot({ path: 'docs/chat-page.png' }); // the README's picture of the whole page
    expect(await page.title()).toBe(title);
    expect(dialogs).toEqual([]);
    await expect.poll(() => blockedInFrame, WAIT).toBeGreaterThan(0);

    // After a reload (the reply as stored), the same.
    await page.reload();
    await expect.poll(() => replies().last().locator('sup.citation').count(), WAIT).toBe(3);
    expect(await replies().last().locator('details.thoughts').count()).toBe(1);
  });
});

// ---- files in prompts ------------------------------------------------------------------------

// What the page-side functions below use of the browser: this file is type-checked without the DOM library.
declare const DataTransfer: new () => { items: { add(file: File): unknown } };
declare const ClipboardEvent: new (type: string, init: { clipboardData: unknown; bubbles: boolean; cancelable: boolean }) => unknown;
interface PageElement {
  dispatchEvent(event: unknown): boolean;
}
interface PageImage {
  complete: boolean;
  naturalWidth: number;
}

/** A real PNG of `size`×`size` red pixels, made here so that the test ships no binary file. */
function png(size = 4): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const check = Buffer.alloc(4);
    check.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, check]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bits per channel
  header[9] = 2; // RGB; compression, filter and interlace stay 0
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(size * 3, Buffer.from([220, 40, 40]))]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: size }, () => row)));
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]);
}

/** A real zip archive holding one stored text file: a type no prompt takes. */
function zip(): Buffer {
  const name = Buffer.from('hello.txt');
  const data = Buffer.from('hello\n');
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt32LE(crc32(data), 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt32LE(crc32(data), 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(name.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(local.length + name.length + data.length, 16);
  return Buffer.concat([local, name, data, central, name, end]);
}

interface TestFile {
  name: string;
  mimeType: string;
  buffer: Buffer;
}

const catPicture = (): TestFile => ({ name: 'cat.png', mimeType: 'image/png', buffer: png() });
const textFile = (name: string, text = `Notes in ${name}\n`): TestFile => ({ name, mimeType: 'text/plain', buffer: Buffer.from(text) });

const pendingFiles = () => page.getByRole('list', { name: 'Files to send' });
const dropHint = () => page.getByText('Drop the files to attach them to your prompt', { exact: true }).and(page.locator('.drop-hint'));

/** Through the Attach button and the file chooser it opens, as a user picks files. */
async function attach(...files: TestFile[]) {
  const chooser = page.waitForEvent('filechooser', WAIT);
  await button('Attach files').click();
  await (await chooser).setFiles(files);
}

/** What a paste of copied files does: a paste event whose clipboard holds them, on the message box. */
async function paste(file: TestFile) {
  await page.getByLabel('Message').evaluate(
    (box, { name, mimeType, bytes }) => {
      const clipboard = new DataTransfer();
      clipboard.items.add(new File([new Uint8Array(bytes)], name, { type: mimeType }));
      (box as unknown as PageElement).dispatchEvent(new ClipboardEvent('paste', { clipboardData: clipboard, bubbles: true, cancelable: true }));
    },
    { name: file.name, mimeType: file.mimeType, bytes: [...file.buffer] },
  );
}

/** A file dragged over `target` (the page says where to drop it, on screen and to a screen reader), then dropped there. */
async function drop(target: Locator, file: TestFile) {
  const dragged = await page.evaluateHandle(
    ({ name, mimeType, bytes }) => {
      const data = new DataTransfer();
      data.items.add(new File([new Uint8Array(bytes)], name, { type: mimeType }));
      return data;
    },
    { name: file.name, mimeType: file.mimeType, bytes: [...file.buffer] },
  );
  await target.dispatchEvent('dragenter', { dataTransfer: dragged });
  await target.dispatchEvent('dragover', { dataTransfer: dragged });
  await expect.poll(() => page.getByRole('status').filter({ hasText: 'Drop the files to attach them to your prompt' }).count(), WAIT).toBe(1);
  await expect.poll(() => dropHint().isVisible(), WAIT).toBe(true);
  await shot('22-dragging-a-file');
  await target.dispatchEvent('drop', { dataTransfer: dragged });
  await dragged.dispose();
}

/** Whether an <img> has drawn its picture: loaded, from the blob: URL the page made, within the CSP. */
const drawn = (image: Locator) => () =>
  image.evaluate((element) => {
    const { complete, naturalWidth } = element as unknown as PageImage;
    return complete && naturalWidth > 0;
  });

/** Every upload has ended (no progress bar left), and so Send is back. */
async function uploadsDone() {
  await expect.poll(() => pendingFiles().getByRole('progressbar').count(), WAIT).toBe(0);
  await expect.poll(() => button('Send').isEnabled(), WAIT).toBe(true);
}

describe.runIf(testMode === 'embedded')('files in prompts, in headless Chromium, on the offline stand-in (which names the files it got)', { timeout: 90_000 }, () => {
  let dataDir: string;

  beforeAll(async () => {
    browser = await launchBrowser();
    dataDir = mkdtempSync(join(tmpdir(), 'chat-page-files-'));
    // No GEMINI_API_KEY: the offline stand-in replies, acknowledging each file by name, type and size.
    t = await startTestApp({ env: { DATA_DIR: dataDir, BASIC_DAILY_LIMIT: '50' } });
    baseUrl = await listen(t);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  beforeEach(openPage);
  afterEach(closePage);

  it('attaches an image by the button: a thumbnail with its progress, Send held until it is stored, then the image in the log, in the reply, and in an edit', async () => {
    await signUp();
    await newChat();
    // The upload held at the wire, to see the composer while it is under way.
    let letUploadGo = () => undefined as void;
    const uploadHeld = new Promise<void>((resolve) => (letUploadGo = resolve));
    await page.route('**/files', async (route) => {
      await uploadHeld;
      await route.fallback();
    });

    await attach(catPicture());
    const thumbnail = pendingFiles().getByRole('img', { name: 'cat.png' });
    await expect.poll(drawn(thumbnail), WAIT).toBe(true);
    await pendingFiles().getByRole('progressbar', { name: 'Uploading cat.png' }).waitFor(WAIT);
    expect(await button('Send').isDisabled()).toBe(true);
    await shot('18-image-uploading');
    letUploadGo();
    await uploadsDone();
    await page.unroute('**/files');
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'cat.png is attached' }).count(), WAIT).toBe(1);
    expect(await pendingFiles().textContent()).toContain('image/png');
    // The Basic quota (STORAGE_QUOTA_BASIC_BYTES, 100 MiB) in binary units, as the server means it.
    await expect.poll(() => page.locator('#storage').textContent(), WAIT).toMatch(/^\d+ B of 100 MiB of file storage used$/);
    await shot('19-image-attached');

    await send('What is in this picture?');
    await expect.poll(textOf(prompts().last()), WAIT).toBe('What is in this picture?');
    await expect.poll(() => pendingFiles().isHidden(), WAIT).toBe(true);
    await expect.poll(drawn(prompts().last().getByRole('img', { name: 'cat.png' })), WAIT).toBe(true);
    await replyFinished();
    await expect.poll(textOf(replies().last()), WAIT).toContain('cat.png');
    await shot('20-image-in-the-log');

    // After a reload, from GET /chatroom/:id alone.
    await page.reload();
    await expect.poll(drawn(prompts().last().getByRole('img', { name: 'cat.png' })), WAIT).toBe(true);

    // An edit sends the prompt again with its files.
    await prompts().last().getByRole('button', { name: 'Edit' }).click();
    await expect.poll(drawn(prompts().last().getByRole('img', { name: 'cat.png' })), WAIT).toBe(true);
    await page.getByLabel('Edited prompt').fill('What colour is it?');
    await button('Send edit').click();
    await expect.poll(textOf(prompts().last()), WAIT).toBe('What colour is it?');
    await replyFinished();
    await expect.poll(() => prompts().last().locator('.branch-position').textContent(), WAIT).toBe('2/2');
    await expect.poll(drawn(prompts().last().getByRole('img', { name: 'cat.png' })), WAIT).toBe(true);
    await expect.poll(textOf(replies().last()), WAIT).toContain('cat.png');
  });

  it("refuses a file the server does not take, in the server's words, and lets it be removed", async () => {
    await signUp();
    await newChat();
    await attach({ name: 'archive.zip', mimeType: 'application/zip', buffer: zip() });
    const refused = pendingFiles().getByRole('listitem').filter({ hasText: 'archive.zip' });
    await expect.poll(() => refused.locator('.file-error').textContent(), WAIT).toMatch(/zip/i);
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'archive.zip could not be attached' }).count(), WAIT).toBe(1);
    await shot('21-file-refused');
    // A refused file is not something to send: an empty prompt with only it does not go.
    await button('Send').click();
    expect(await prompts().count()).toBe(0);

    await pendingFiles().getByRole('button', { name: 'Remove archive.zip' }).click();
    await expect.poll(() => pendingFiles().isHidden(), WAIT).toBe(true);
  });

  it('attaches a pasted image and a dropped text file; sends the text file alone, which downloads from the log, and shows it deleted once it is', async () => {
    await signUp();
    await newChat();
    await paste({ ...catPicture(), name: 'image.png' });
    await expect.poll(drawn(pendingFiles().getByRole('img', { name: 'image.png' })), WAIT).toBe(true);
    const notes = textFile('notes.txt', 'Buy milk\n');
    await drop(conversation(), notes);
    await expect.poll(() => dropHint().isVisible(), WAIT).toBe(false);
    await expect.poll(() => pendingFiles().getByRole('listitem').count(), WAIT).toBe(2);
    await uploadsDone();
    await shot('23-pasted-and-dropped');

    await pendingFiles().getByRole('button', { name: 'Remove image.png' }).click();
    await expect.poll(() => pendingFiles().getByRole('listitem').allTextContents(), WAIT).toEqual([expect.stringContaining('notes.txt')]);
    // No text at all: a prompt of one file.
    await button('Send').click();
    const link = prompts().last().getByRole('link', { name: /notes\.txt/ });
    await link.waitFor(WAIT);
    await replyFinished();
    await expect.poll(textOf(replies().last()), WAIT).toContain('notes.txt');
    expect(await textOf(replies().last())()).not.toContain('image.png');

    const downloaded = page.waitForEvent('download', WAIT);
    await link.click();
    const file = await downloaded;
    expect(file.suggestedFilename()).toBe('notes.txt');
    expect(readFileSync(await file.path(), 'utf8')).toBe('Buy milk\n');
    await shot('24-file-in-the-log');

    // Its owner deletes it (through the API): the prompt keeps its name, marked deleted.
    const fileId = /\/files\/([^/]+)\/content/.exec((await link.getAttribute('href')) ?? '')?.[1];
    const tokens = JSON.parse((await page.evaluate(() => localStorage.getItem('gemini-chat.tokens'))) ?? '{}') as { accessToken?: string };
    const deleted = await fetch(`${baseUrl}files/${fileId ?? 'missing'}`, { method: 'DELETE', headers: { authorization: `Bearer ${tokens.accessToken ?? ''}` } });
    expect(deleted.status).toBe(204);
    await page.reload();
    await expect.poll(() => prompts().last().getByRole('listitem').allTextContents(), WAIT).toEqual(['notes.txt (deleted)']);
  });

  it('takes at most 10 files in a prompt, and says so of the others', async () => {
    await signUp();
    await newChat();
    await attach(...Array.from({ length: 11 }, (_, i) => textFile(`note-${i + 1}.txt`)));
    await expect.poll(() => page.getByRole('alert').textContent(), WAIT).toContain('at most 10 files: 1 file was not added');
    await expect.poll(() => pendingFiles().getByRole('listitem').count(), WAIT).toBe(10);
    await uploadsDone();
    await attach(textFile('one-more.txt'));
    await expect.poll(() => pendingFiles().getByRole('listitem').count(), WAIT).toBe(10);

    await send('Summarise these');
    await replyFinished();
    await expect.poll(() => prompts().last().getByRole('link').count(), WAIT).toBe(10);
    const reply = (await textOf(replies().last())()) ?? '';
    expect(reply).toContain('note-10.txt');
    expect(reply).not.toContain('note-11.txt');
  });

  it('shows a HEIC photo, which browsers cannot draw, as a download with its type badge in the chat and on its share page, beside a PNG drawn on both', async () => {
    await signUp();
    await newChat();
    await attach(catPicture(), { name: 'photo.heic', mimeType: 'image/heic', buffer: heicBytes() });
    await uploadsDone();
    await send('Two pictures');
    await replyFinished();
    const inChat = prompts().last();
    await expect.poll(drawn(inChat.getByRole('img', { name: 'cat.png' })), WAIT).toBe(true);
    expect(await inChat.getByRole('img', { name: 'photo.heic' }).count()).toBe(0);
    expect(await inChat.getByRole('link', { name: /photo\.heic/ }).locator('.badge').textContent()).toBe('HEIC');

    await page.getByText('Share', { exact: true }).click();
    await button('Create share link').click();
    const link = page.getByLabel('Share link', { exact: true });
    await expect.poll(() => link.inputValue(), WAIT).toMatch(/\/s\/[A-Za-z0-9_-]{22}$/);
    await page.goto(await link.inputValue());
    const shared = page.getByRole('log', { name: 'Shared conversation' }).getByRole('article', { name: 'Prompt' });
    await expect.poll(drawn(shared.getByRole('img', { name: 'cat.png' })), WAIT).toBe(true);
    // The same rule as the chat (attachment-rules.ts showsAsImage): no broken picture, a file to download.
    expect(await shared.getByRole('img', { name: 'photo.heic' }).count()).toBe(0);
    const heic = shared.getByRole('link', { name: /photo\.heic/ });
    expect(await heic.locator('.badge').textContent()).toBe('HEIC');
    expect(await heic.getAttribute('download')).toBe('photo.heic');
    await shot('25-heic-on-the-share-page');
  });
});

// ---- sharing -----------------------------------------------------------------------------------

describe.runIf(testMode === 'embedded')('sharing a chat, its read-only page, and continuing it, in headless Chromium', { timeout: 90_000 }, () => {
  withBrowserAndApp({});

  it('shares a chat, revokes a link; a reader without a session sees it read-only, signs up from "Continue this conversation" and carries on in the fork', async () => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(baseUrl).origin });
    gemini.enqueue({ kind: 'reply', chunks: MARKDOWN_REPLY });
    await signUp();
    await newChat();
    await send('List **two** planets as a table');
    await replyFinished();

    await page.getByText('Share', { exact: true }).click();
    // The panel opens with its explanation: no empty line above it, only the panel's padding and border.
    const card = page.locator('#sharing .card');
    const panel = await card.boundingBox();
    const explanation = await card.getByText('Anyone with a link reads this chat').boundingBox();
    const inset = await card.evaluate((element) => {
      const style = (globalThis as unknown as PageStyles).getComputedStyle(element);
      return parseFloat(style.paddingTop) + parseFloat(style.borderTopWidth);
    });
    expect((explanation?.y ?? 0) - (panel?.y ?? 0)).toBeCloseTo(inset, 0);
    await button('Create share link').click();
    const link = page.getByLabel('Share link', { exact: true });
    await expect.poll(() => link.inputValue(), WAIT).toMatch(/\/s\/[A-Za-z0-9_-]{22}$/);
    const shareUrl = await link.inputValue();
    await button('Copy link').click();
    const copied = await page.evaluate(() => (globalThis as unknown as PageClipboard).navigator.clipboard.readText());
    expect(copied).toBe(shareUrl);
    const links = page.getByRole('list', { name: 'Share links' }).getByRole('listitem');
    await expect.poll(() => links.count(), WAIT).toBe(1);

    // A second link, revoked: the list keeps the first, and the revoked one is a 404 page.
    await button('Create share link').click();
    await expect.poll(() => links.count(), WAIT).toBe(2);
    const second = await link.inputValue();
    expect(second).not.toBe(shareUrl);
    await shot('30-share-panel');
    await page.getByRole('button', { name: `Revoke link ${second}` }).click();
    await expect.poll(() => links.count(), WAIT).toBe(1);
    expect(await links.first().getByRole('link').textContent()).toBe(shareUrl);

    // Someone else, with no session, opens the link.
    await closePage();
    await openPage();
    const revoked = await page.goto(second);
    expect(revoked?.status()).toBe(404);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('This conversation is not shared');

    const opened = await page.goto(shareUrl);
    expect(opened?.status()).toBe(200);
    expect(opened?.headers()['x-robots-tag']).toMatch(/noindex/);
    const shared = page.getByRole('log', { name: 'Shared conversation' });
    await expect.poll(() => shared.getByRole('article').count(), WAIT).toBe(2);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('New chat');
    expect(await shared.getByRole('article', { name: 'Prompt' }).locator('.content').textContent()).toBe('List **two** planets as a table');
    const answer = shared.getByRole('article', { name: 'Answer' });
    expect(await answer.locator('table td').allTextContents()).toEqual(['Earth', '1', 'Mars', '2']);
    expect(await answer.getByRole('heading', { level: 2 }).textContent()).toBe('Planets');
    // Read-only: nothing to type into, no send, no regenerate.
    expect(await page.getByRole('textbox').count()).toBe(0);
    expect(await page.getByRole('button').allTextContents()).toEqual(['Copy']); // the code block's
    await shot('31-shared-page');

    await page.getByRole('link', { name: 'Continue this conversation' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), WAIT).toContain('to continue the shared conversation');
    await page.getByLabel('Mobile number').fill(makeMobile());
    await page.getByLabel('Password').fill('another reader pass');
    await button('Create account').click();
    await expect.poll(() => page.getByLabel('Code').inputValue(), WAIT).toMatch(/^\d{6}$/);
    await button('Verify code').click();

    // Signed in: the fork is a chat of the reader's own, open, with the conversation in it.
    await expect.poll(() => prompts().count(), WAIT).toBe(1);
    await expect.poll(textOf(prompts().first()), WAIT).toBe('List **two** planets as a table');
    expect(await replies().first().locator('table td').allTextContents()).toEqual(['Earth', '1', 'Mars', '2']);
    expect(await page.getByRole('navigation', { name: 'Chats' }).getByRole('listitem').count()).toBe(1);
    expect(new URL(page.url()).search).toBe('');
    await shot('32-forked-chat');

    gemini.enqueue({ kind: 'reply', chunks: ['Jupiter has 95.'] });
    await send('And a third?');
    await replyFinished();
    await expect.poll(textOf(replies().last()), WAIT).toBe('Jupiter has 95.');
    expect(await prompts().count()).toBe(2);
    // The model saw the forked conversation as the context of the new prompt.
    expect(JSON.stringify(gemini.requests.at(-1))).toContain('List **two** planets as a table');
  });
});
