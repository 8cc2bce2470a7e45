import type { Doc } from '@waffle/core';
import type { Post } from './blog.js';

/** Text made safe inside HTML elements and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** What the form held, shown again when it was refused. */
export type FormValues = { title?: unknown; author?: unknown; body?: unknown };

const style = `
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  h1 a { color: inherit; text-decoration: none; }
  article { border-bottom: 1px solid #ddd; padding: 0.5rem 0; }
  article h2 { margin: 0; font-size: 1.2rem; }
  .meta { color: #666; font-size: 0.9rem; }
  .body { white-space: pre-wrap; margin: 0.25rem 0 0; }
  form { display: grid; gap: 0.5rem; margin: 1rem 0 2rem; }
  input, textarea { font: inherit; padding: 0.3rem; }
  .error { color: #a00; }
`;

function layout(title: string, content: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${style}</style>
</head>
<body>
${content}
</body>
</html>
`;
}

function field(form: FormValues | undefined, name: keyof FormValues): string {
  const value = form?.[name];
  return typeof value === 'string' ? escapeHtml(value) : '';
}

function postHtml(post: Doc<Post>): string {
  const { title, author, body, created } = post.value;
  const when = new Date(created).toISOString().slice(0, 16).replace('T', ' ');
  return `<article data-id="${escapeHtml(post.id)}">
<h2 class="title">${escapeHtml(title)}</h2>
<div class="meta">by <a class="author" href="/?author=${escapeHtml(encodeURIComponent(author))}">${escapeHtml(author)}</a>, <time datetime="${new Date(created).toISOString()}">${when} UTC</time></div>
${body ? `<p class="body">${escapeHtml(body)}</p>` : ''}
</article>`;
}

/** The home page: the form, then a page of posts, newest first (of one author, with `author`). */
export function homePage(options: {
  posts: Doc<Post>[];
  next?: string | undefined;
  author?: string | undefined;
  form?: FormValues | undefined;
  error?: string | undefined;
}): string {
  const { posts, next, author, form, error } = options;
  const heading = author === undefined ? 'Recent posts' : `Posts by ${escapeHtml(author)}`;
  const more = next
    ? `<p><a id="older" href="/?${escapeHtml(
        new URLSearchParams({ ...(author === undefined ? {} : { author }), after: next }).toString(),
      )}">Older posts</a></p>`
    : '';
  return layout(
    'waffle blog',
    `<h1><a href="/">waffle blog</a></h1>
<form method="post" action="/posts">
<h2>Write a post</h2>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<label>Title <input name="title" required maxlength="200" value="${field(form, 'title')}"></label>
<label>Author <input name="author" required maxlength="64" value="${field(form, 'author')}"></label>
<label>Body <textarea name="body" rows="4" maxlength="20000">${field(form, 'body')}</textarea></label>
<button type="submit">Publish</button>
</form>
<h2>${heading}</h2>
${author === undefined ? '' : '<p><a href="/">All posts</a></p>'}
<section id="posts">
${posts.length === 0 ? '<p class="empty">No posts yet.</p>' : posts.map(postHtml).join('\n')}
</section>
${more}`,
  );
}

/** A page for an error of a page route (the API answers JSON). */
export function errorPage(status: number, name: string, message: string): string {
  return layout(
    `${status} ${name}`,
    `<h1>${status} ${escapeHtml(name)}</h1>
<p class="error">${escapeHtml(message)}</p>
<p><a href="/">Back to the blog</a></p>`,
  );
}
