import { describe, expect, it } from 'vitest';
import { ALLOWED_LINK_PATTERN, allowedLinkUrl, escapeHtml } from '../../web/src/markdown-rules.js';

/* What a link in a rendered reply may point to (the rendering itself: test/chat-page.browser.test.ts). */

describe('the links a reply may carry', () => {
  it('keeps web pages and e-mail addresses', () => {
    expect(allowedLinkUrl('https://example.com/a?b=c#d')).toBe('https://example.com/a?b=c#d');
    expect(allowedLinkUrl('http://example.com')).toBe('http://example.com/');
    expect(allowedLinkUrl('  HTTPS://Example.com/x ')).toBe('https://example.com/x');
    expect(allowedLinkUrl('mailto:someone@example.com')).toBe('mailto:someone@example.com');
  });

  it('refuses script, data, file and other schemes, however they are spelled', () => {
    for (const href of [
      'javascript:alert(1)',
      'JaVaScRiPt:alert(1)',
      ' javascript:alert(1)',
      'java\tscript:alert(1)',
      'java\nscript:alert(1)',
      '\u0001javascript:alert(1)',
      'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
      'vbscript:msgbox(1)',
      'file:///etc/passwd',
      'blob:https://example.com/1234',
      'ftp://example.com/',
    ]) {
      expect(allowedLinkUrl(href), JSON.stringify(href)).toBeUndefined();
    }
  });

  it('refuses relative addresses, which would point into this server', () => {
    for (const href of ['/chatroom/1', '#top', '?q=1', 'page.html', '//evil.example/x', '']) expect(allowedLinkUrl(href), JSON.stringify(href)).toBeUndefined();
  });

  it("agrees with the pattern given to DOMPurify on the addresses both see", () => {
    for (const href of ['https://example.com/', 'http://x.org', 'mailto:a@b.c']) expect(ALLOWED_LINK_PATTERN.test(href)).toBe(true);
    for (const href of ['javascript:alert(1)', 'data:text/html,x', '/relative', 'file:///x']) expect(ALLOWED_LINK_PATTERN.test(href)).toBe(false);
  });
});

describe('escaping text into HTML', () => {
  it('turns markup characters into entities, and leaves the rest', () => {
    expect(escapeHtml(`<img src=x onerror="alert('1')"> & more`)).toBe('&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt; &amp; more');
    expect(escapeHtml('plain text, ünïcode ✓')).toBe('plain text, ünïcode ✓');
  });
});
