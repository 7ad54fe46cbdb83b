/**
 * The chat page at GET /, driven in headless Chromium (Debian's /usr/bin/chromium, through
 * playwright-core) against an embedded server listening on a real port, with the fake Gemini at the
 * wire. Each scenario signs up its own user, so the daily allowance of one does not leak into another.
 * A screenshot of every step lands in test-artifacts/screenshots/ (CI's artifact folder).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bundlePage } from '../web/build/build-page.js';
import { startFakeGemini, type FakeGemini } from './fakes/gemini-server.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { makeMobile } from './helpers/factories.js';
import { testMode } from './helpers/mode.js';

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

describe.runIf(testMode === 'embedded')('chat page in headless Chromium (embedded mode only: one browser run covers the page)', { timeout: 90_000 }, () => {
  beforeAll(async () => {
    // Loud, not skipped: CI installs it (.ci/run), and a machine without it cannot prove the page.
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (see .ci/run)`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    await bundlePage();
    gemini = await startFakeGemini();
    t = await startTestApp({
      env: {
        GEMINI_API_KEY: 'test-key',
        GEMINI_BASE_URL: gemini.url,
        GEMINI_MODEL: 'gemini-test',
        GEMINI_MODELS: 'gemini-test,gemini-other',
        BASIC_DAILY_LIMIT: String(DAILY_LIMIT),
        AUTO_TITLE: 'false',
      },
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/`;
    // launch() gives every run a fresh temporary profile (its own --user-data-dir).
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await gemini?.close();
  });

  beforeEach(async () => {
    gemini.reset();
    context = await browser.newContext({ viewport: { width: 1180, height: 760 } });
    page = await context.newPage();
    pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // The page must live within the CSP (no inline code): a violation is an error here.
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) pageErrors.push(message.text());
    });
  });

  afterEach(async () => {
    await context.close();
    expect(pageErrors).toEqual([]);
  });

  it('serves the page to a browser and keeps the JSON index for scripts', async () => {
    const html = await fetch(baseUrl, { headers: { accept: 'text/html' } });
    expect(html.headers.get('content-type')).toContain('text/html');
    expect(html.headers.get('content-security-policy')).toContain("script-src 'self'");
    const index = await fetch(baseUrl, { headers: { accept: 'application/json' } });
    expect(await index.json()).toMatchObject({ docs: '/docs', openapi: '/openapi.json', page: '/' });
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
    await expect.poll(() => page.getByRole('alert').textContent(), WAIT).toContain(`Basic plan allows ${DAILY_LIMIT} prompts a day`);
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
