import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, serve, tempDir } from './helpers.js';

const dir = tempDir();
const { url } = await serve({ dataDir: dir });

/** Writes a post through the form as a browser without JavaScript would: a urlencoded POST. */
function submitForm(fields: Record<string, string>): Promise<Response> {
  return fetch(`${url}/posts`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
}

async function page(path = '/'): Promise<{ status: number; html: string; headers: Headers }> {
  const response = await fetch(`${url}${path}`);
  return { status: response.status, html: await response.text(), headers: response.headers };
}

describe('the page', () => {
  it('says there is no post yet on an empty blog, and has the form', async () => {
    const { status, html, headers } = await page();
    expect(status).toBe(200);
    expect(headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html).toContain('No posts yet.');
    expect(html).toContain('<form method="post" action="/posts">');
    for (const name of ['title', 'author']) expect(html).toContain(`name="${name}" required`);
    expect(html).toContain('<textarea name="body"');
  });

  it('shows every user string as text: a title like <script> is escaped', async () => {
    const hostile = {
      title: '<script>alert("x")</script>',
      author: 'eve"><img src=x>',
      body: "<b>bold</b> & 'quoted'",
    };
    expect((await call(`${url}/api/posts`, 'POST', hostile)).status).toBe(201);
    const { html, headers } = await page();
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).toContain('eve&quot;&gt;&lt;img src=x&gt;');
    expect(html).toContain('&lt;b&gt;bold&lt;/b&gt; &amp; &#39;quoted&#39;');
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>');
    // The author link carries the name URL-encoded, then escaped.
    expect(html).toContain('href="/?author=eve%22%3E%3Cimg%20src%3Dx%3E"');
    expect(headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('writes a post from the form (303 back to the page) and lists it first', async () => {
    const response = await submitForm({
      title: 'Written in the form',
      author: 'fay',
      body: 'Line one\nLine two',
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/');
    const { html } = await page();
    const titles = [...html.matchAll(/<h2 class="title">(.*?)<\/h2>/g)].map((m) => m[1]);
    expect(titles[0]).toBe('Written in the form');
    expect(html).toContain('<p class="body">Line one\nLine two</p>');
  });

  it('shows a refused form again with the reason and what was typed (400)', async () => {
    const response = await submitForm({ title: '  ', author: 'gus <g@x>', body: 'kept' });
    expect(response.status).toBe(400);
    const html = await response.text();
    expect(html).toContain('<p class="error" role="alert">title must not be blank</p>');
    expect(html).toContain('value="gus &lt;g@x&gt;"');
    expect(html).toContain('>kept</textarea>');
    const missing = await submitForm({ title: 'no author' });
    expect(missing.status).toBe(400);
    expect(await missing.text()).toContain('<p class="error" role="alert">author is required</p>');
    expect((await page()).html).not.toContain('no author');
  });

  it("lists one author's posts at /?author=", async () => {
    await submitForm({ title: 'By hal', author: 'hal' });
    const { html } = await page('/?author=hal');
    expect(html).toContain('<h2>Posts by hal</h2>');
    expect([...html.matchAll(/<h2 class="title">(.*?)<\/h2>/g)].map((m) => m[1])).toEqual(['By hal']);
  });

  it('links to older posts past the first 20, and refuses a bad cursor with a 400 page', async () => {
    for (let i = 1; i <= 20; i++)
      await call(`${url}/api/posts`, 'POST', { title: `bulk ${i}`, author: 'ivy' });
    const first = await page();
    const older = /<a id="older" href="([^"]+)">/.exec(first.html)?.[1];
    expect(older).toMatch(/^\/\?after=/);
    const second = await page(older!.replaceAll('&amp;', '&'));
    expect(second.status).toBe(200);
    const titles = [...second.html.matchAll(/<h2 class="title">(.*?)<\/h2>/g)].map((m) => m[1]);
    // 23 posts in all: the 20 newest on the first page, the 3 oldest here.
    expect(titles).toEqual([
      'By hal',
      'Written in the form',
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;',
    ]);
    const bad = await page('/?after=nonsense');
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('Invalid cursor passed as &quot;after&quot;');
  });
});

/**
 * The page in a real headless browser: Debian's chromium (`.ci/run` installs
 * it), driven by playwright-core. Missing, it fails with how to get it;
 * WAFFLE_SKIP_BROWSER=1 skips it (never in CI).
 */
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

describe.skipIf(process.env.WAFFLE_SKIP_BROWSER === '1' && !process.env.CI)('the page in chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    if (!existsSync(chromiumPath)) {
      throw new Error(
        `No chromium at ${chromiumPath}: install it (apt-get install -y chromium, as .ci/run does), ` +
          'point CHROMIUM_PATH at one, or set WAFFLE_SKIP_BROWSER=1 to skip the browser test',
      );
    }
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'] });
  });
  afterAll(() => browser?.close());

  it('writes a post through the form and sees it listed first, as text', async () => {
    const tab = await browser.newPage();
    await tab.goto(url);
    expect(await tab.title()).toBe('waffle blog');
    const title = `<em>From chromium</em> & "friends" ${Date.now()}`;
    await tab.fill('input[name=title]', title);
    await tab.fill('input[name=author]', 'jo');
    await tab.fill('textarea[name=body]', 'Typed in a real browser.');
    await Promise.all([tab.waitForURL(`${url}/`), tab.click('button[type=submit]')]);

    const first = tab.locator('#posts article').first();
    expect(await first.locator('.title').textContent()).toBe(title);
    expect(await first.locator('.author').textContent()).toBe('jo');
    expect(await first.locator('.body').textContent()).toBe('Typed in a real browser.');
    expect(await tab.locator('#posts em').count()).toBe(0);

    // The author link lists jo's posts.
    await Promise.all([tab.waitForURL(/author=jo/), first.locator('.author').click()]);
    expect(await tab.locator('#posts .title').allTextContents()).toEqual([title]);
    await tab.close();
  });

  it('does not send a form without a title', async () => {
    const tab = await browser.newPage();
    await tab.goto(url);
    await tab.fill('input[name=author]', 'kim');
    await tab.click('button[type=submit]');
    expect(
      await tab.locator('input[name=title]').evaluate((input) => (input as any).validity.valueMissing),
    ).toBe(true);
    expect(await tab.locator('#posts .author', { hasText: 'kim' }).count()).toBe(0);
    await tab.close();
  });
});
