import { ALL_DIALECTS, dialectEnabled } from '@waffle/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { backend, call, dropBlog, serve, tempDir } from './helpers.js';

const dir = tempDir();

/** The error body every refused request gets. */
function refusal(statusCode: number, error: string, message: string | RegExp) {
  return {
    statusCode,
    error,
    message: typeof message === 'string' ? message : expect.stringMatching(message),
  };
}

for (const dialect of ALL_DIALECTS) {
  describe.skipIf(!dialectEnabled(dialect))(`the JSON API on ${dialect}`, () => {
    let api = '';
    const post = (body: unknown) => call(`${api}/posts`, 'POST', body);

    beforeAll(async () => {
      const config = backend(dialect, `${dir}/${dialect}`);
      await dropBlog(config);
      api = `${(await serve(config)).url}/api`;
    });

    it('POST /api/posts creates a post: 201, its location, the record at version 1', async () => {
      const before = Date.now();
      const created = await post({ title: 'Hello', body: 'First words.', author: 'ann' });
      expect(created.status).toBe(201);
      expect(created.json).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        version: 1,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        updatedAt: created.json.createdAt,
        value: { title: 'Hello', body: 'First words.', author: 'ann', created: expect.any(Number) },
      });
      expect(created.json.value.created).toBeGreaterThanOrEqual(before);
      expect(created.headers.get('location')).toBe(`/api/posts/${created.json.id}`);

      const read = await call(`${api}/posts/${created.json.id}`, 'GET');
      expect(read.status).toBe(200);
      expect(read.json).toEqual(created.json);
    });

    it('POST /api/posts without a body field stores an empty body', async () => {
      const created = await post({ title: 'Short', author: 'bob' });
      expect(created.status).toBe(201);
      expect(created.json.value.body).toBe('');
    });

    it('POST /api/posts refuses bad bodies with 400 and says why', async () => {
      const cases: [unknown, string][] = [
        [{ author: 'ann' }, 'body/title is required'],
        [{ title: 'x' }, 'body/author is required'],
        [{ title: 5, author: 'ann' }, 'body/title must be string'],
        [{ title: '   ', author: 'ann' }, 'body/title must not be blank'],
        [{ title: '', author: 'ann' }, 'body/title must NOT have fewer than 1 characters'],
        [{ title: 'x', author: 'a'.repeat(65) }, 'body/author must NOT have more than 64 characters'],
        [{ title: 'x', author: 'ann', body: null }, 'body/body must be string'],
        [{ title: 'x', author: 'ann', tags: [] }, 'body must NOT have additional properties'],
        [[], 'body must be object'],
      ];
      for (const [body, message] of cases) {
        const refused = await post(body);
        expect({ body, ...refused.json }).toEqual({ body, ...refusal(400, 'Bad Request', message) });
        expect(refused.status).toBe(400);
      }
      const text = await call(`${api}/posts`, 'POST', '<post/>', { 'content-type': 'application/xml' });
      expect(text.status).toBe(415);
      expect(text.json).toEqual(
        refusal(
          415,
          'Unsupported Media Type',
          'Unsupported Media Type "application/xml": send application/json',
        ),
      );
      const malformed = await call(`${api}/posts`, 'POST', '{"title": ');
      expect(malformed.status).toBe(400);
      expect(malformed.json).toEqual(refusal(400, 'Bad Request', /not valid JSON/));
    });

    it('GET /api/posts/:id of an unknown post is 404', async () => {
      const missing = await call(`${api}/posts/nope`, 'GET');
      expect(missing.status).toBe(404);
      expect(missing.json).toEqual(refusal(404, 'Not Found', 'Post "nope" does not exist'));
    });

    it('GET /api/posts/:id of an id waffle refuses is 400', async () => {
      const bad = await call(`${api}/posts/${encodeURIComponent('a\u0001b')}`, 'GET');
      expect(bad.status).toBe(400);
      expect(bad.json).toEqual(refusal(400, 'Bad Request', /id/));
    });

    it('PUT /api/posts/:id with the version read saves the next version; a stale version is 409', async () => {
      const { json: created } = await post({ title: 'Draft', body: 'v1', author: 'ann' });
      const url = `${api}/posts/${created.id}`;
      const updated = await call(url, 'PUT', { title: 'Final', body: 'v2', author: 'ann', version: 1 });
      expect(updated.status).toBe(200);
      expect(updated.json).toMatchObject({
        id: created.id,
        version: 2,
        createdAt: created.createdAt,
        value: { title: 'Final', body: 'v2', author: 'ann', created: created.value.created },
      });
      expect((await call(url, 'GET')).json).toEqual(updated.json);

      // A second writer that read version 1 too: refused, and told the version stored now.
      const stale = await call(url, 'PUT', { title: 'Other', author: 'ann', version: 1 });
      expect(stale.status).toBe(409);
      expect(stale.json).toEqual({
        ...refusal(
          409,
          'Conflict',
          `Conflict on record "${created.id}": write based on version 1, but the stored version is 2`,
        ),
        currentVersion: 2,
        deleted: false,
      });
      const ahead = await call(url, 'PUT', { title: 'Other', author: 'ann', version: 7 });
      expect(ahead.status).toBe(409);
      expect((await call(url, 'GET')).json.value.title).toBe('Final');
    });

    it('PUT /api/posts/:id moves a post to its new author in the author index', async () => {
      const { json: created } = await post({ title: 'Moving', author: 'mover-1' });
      await call(`${api}/posts/${created.id}`, 'PUT', { title: 'Moving', author: 'mover-2', version: 1 });
      expect((await call(`${api}/authors/mover-1/posts`, 'GET')).json).toEqual({ posts: [] });
      const { json } = await call(`${api}/authors/mover-2/posts`, 'GET');
      expect(json.posts.map((p: any) => [p.id, p.version])).toEqual([[created.id, 2]]);
    });

    it('PUT /api/posts/:id: 404 for an unknown post, 400 without a version or with a bad one', async () => {
      const unknown = await call(`${api}/posts/nope`, 'PUT', { title: 'x', author: 'ann', version: 1 });
      expect(unknown.status).toBe(404);
      expect(unknown.json).toEqual(refusal(404, 'Not Found', 'Post "nope" does not exist'));
      const { json: created } = await post({ title: 'x', author: 'ann' });
      const url = `${api}/posts/${created.id}`;
      const cases: [unknown, string][] = [
        [{ title: 'x', author: 'ann' }, 'body/version is required'],
        [{ title: 'x', author: 'ann', version: 0 }, 'body/version must be >= 1'],
        [{ title: 'x', author: 'ann', version: 1.5 }, 'body/version must be integer'],
        [{ title: 'x', author: 'ann', version: '1' }, 'body/version must be integer'],
        [{ author: 'ann', version: 1 }, 'body/title is required'],
      ];
      for (const [body, message] of cases) {
        const refused = await call(url, 'PUT', body);
        expect({ body, ...refused.json }).toEqual({ body, ...refusal(400, 'Bad Request', message) });
      }
      expect((await call(url, 'GET')).json.version).toBe(1);
    });

    it('DELETE /api/posts/:id: 204, then 404; with ?version= only that version (else 409)', async () => {
      const { json: first } = await post({ title: 'Gone soon', author: 'del' });
      const url = `${api}/posts/${first.id}`;
      const stale = await call(`${url}?version=2`, 'DELETE');
      expect(stale.status).toBe(409);
      expect(stale.json).toEqual({
        ...refusal(409, 'Conflict', /write based on version 2, but the stored version is 1/),
        currentVersion: 1,
        deleted: false,
      });
      const deleted = await call(`${url}?version=1`, 'DELETE');
      expect(deleted.status).toBe(204);
      expect(deleted.json).toBeUndefined();
      expect((await call(url, 'GET')).status).toBe(404);
      const again = await call(url, 'DELETE');
      expect(again.status).toBe(404);
      expect(again.json).toEqual(refusal(404, 'Not Found', `Post "${first.id}" does not exist`));
      // A writer that read version 1 of a post deleted since learns it was deleted.
      const late = await call(`${url}?version=1`, 'DELETE');
      expect(late.status).toBe(409);
      expect(late.json).toMatchObject({ currentVersion: 2, deleted: true });
      expect((await call(`${api}/authors/del/posts`, 'GET')).json).toEqual({ posts: [] });

      const { json: second } = await post({ title: 'Gone at once', author: 'del' });
      expect((await call(`${api}/posts/${second.id}`, 'DELETE')).status).toBe(204);
    });

    it('DELETE /api/posts/:id: 404 for an unknown post, with or without a version; 400 for a bad version', async () => {
      expect((await call(`${api}/posts/nope`, 'DELETE')).json).toEqual(
        refusal(404, 'Not Found', 'Post "nope" does not exist'),
      );
      expect((await call(`${api}/posts/nope?version=3`, 'DELETE')).status).toBe(404);
      for (const version of ['0', 'abc', '-1', '1.5']) {
        const bad = await call(`${api}/posts/nope?version=${version}`, 'DELETE');
        expect(bad.json).toEqual(
          refusal(400, 'Bad Request', 'querystring/version must be a positive whole number'),
        );
      }
    });

    it('GET /api/posts lists every post newest first, page by page with the next cursor', async () => {
      const titles = ['list 1', 'list 2', 'list 3', 'list 4', 'list 5'];
      for (const title of titles) expect((await post({ title, author: 'lister' })).status).toBe(201);

      const all = await call(`${api}/posts?limit=100`, 'GET');
      expect(all.status).toBe(200);
      expect(all.json.next).toBeUndefined();
      const newestFirst = all.json.posts.map((p: any) => p.value.title);
      expect(newestFirst.slice(0, 5)).toEqual([...titles].reverse());
      // Every post of this blog (the tests before wrote some, and deleted others), each once, newest first.
      const ids = all.json.posts.map((p: any) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      const created = all.json.posts.map((p: any) => p.value.created);
      expect(created).toEqual([...created].sort((a, b) => b - a));

      const paged: string[] = [];
      let next: string | undefined;
      let pages = 0;
      do {
        const page = await call(
          `${api}/posts?limit=2${next ? `&after=${encodeURIComponent(next)}` : ''}`,
          'GET',
        );
        expect(page.status).toBe(200);
        expect(page.json.posts.length).toBeLessThanOrEqual(2);
        paged.push(...page.json.posts.map((p: any) => p.id));
        next = page.json.next;
        pages++;
      } while (next);
      expect(paged).toEqual(ids);
      expect(pages).toBe(Math.ceil(ids.length / 2));

      const first = await call(`${api}/posts`, 'GET');
      expect(first.json.posts.length).toBe(Math.min(ids.length, 20));
    });

    it('GET /api/authors/:author/posts lists one author newest first, page by page', async () => {
      const author = 'Zoë van den Berg';
      const titles = ['z1', 'z2', 'z3'];
      for (const title of titles) await post({ title, author });
      await post({ title: 'not hers', author: 'Zoe' });
      const url = `${api}/authors/${encodeURIComponent(author)}/posts`;

      const first = await call(`${url}?limit=2`, 'GET');
      expect(first.status).toBe(200);
      expect(first.json.posts.map((p: any) => p.value.title)).toEqual(['z3', 'z2']);
      expect(first.json.posts.every((p: any) => p.value.author === author)).toBe(true);
      expect(first.json.next).toEqual(expect.any(String));
      const second = await call(`${url}?limit=2&after=${encodeURIComponent(first.json.next)}`, 'GET');
      expect(second.json).toEqual({
        posts: [expect.objectContaining({ value: expect.objectContaining({ title: 'z1' }) })],
      });

      expect((await call(`${api}/authors/nobody/posts`, 'GET')).json).toEqual({ posts: [] });
    });

    it('the lists refuse bad limits, bad cursors and unknown parameters with 400', async () => {
      for (const limit of ['0', '101', 'abc', '-1', '2.5', '']) {
        const bad = await call(`${api}/posts?limit=${limit}`, 'GET');
        expect({ limit, ...bad.json }).toEqual({
          limit,
          ...refusal(400, 'Bad Request', 'querystring/limit must be a whole number from 1 to 100'),
        });
      }
      const garbage = await call(`${api}/posts?after=garbage`, 'GET');
      expect(garbage.status).toBe(400);
      expect(garbage.json).toEqual(
        refusal(400, 'Bad Request', 'Invalid cursor passed as "after": not a cursor made by page()'),
      );
      expect((await call(`${api}/authors/ann/posts?after=garbage`, 'GET')).status).toBe(400);

      // A cursor of the author list does not resume the list of every post.
      await post({ title: 'c1', author: 'cursor' });
      await post({ title: 'c2', author: 'cursor' });
      const { json } = await call(`${api}/authors/cursor/posts?limit=1`, 'GET');
      const other = await call(`${api}/posts?after=${encodeURIComponent(json.next)}`, 'GET');
      expect(other.json).toEqual(refusal(400, 'Bad Request', /made by a query with another index or order/));

      const unknown = await call(`${api}/posts?limt=5`, 'GET');
      expect(unknown.json).toEqual(
        refusal(400, 'Bad Request', 'querystring must NOT have additional properties'),
      );
      const blank = await call(`${api}/authors/${encodeURIComponent(' ')}/posts`, 'GET');
      expect(blank.json).toEqual(refusal(400, 'Bad Request', 'params/author must not be blank'));
    });

    it('an unknown route is 404', async () => {
      const missing = await call(`${api}/nothing`, 'GET');
      expect(missing.status).toBe(404);
      expect(missing.json).toMatchObject({ statusCode: 404, error: 'Not Found' });
    });
  });
}
