import { STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ConflictError,
  type Doc,
  NotFoundError,
  ShardUnavailableError,
  ValidationError,
  WaffleError,
} from '@waffle/core';
import { type FastifyInstance, type FastifyReply, type FastifyServerOptions, fastify } from 'fastify';
import {
  type Blog,
  blog as blogOf,
  closeShards,
  type ExampleConfig,
  openShards,
  type Post,
  seedPosts,
} from './blog.js';
import { errorPage, type FormValues, homePage } from './page.js';

/** Page sizes of the lists: `limit` is 1 to {@link MAX_LIMIT}, {@link DEFAULT_LIMIT} when not given. */
export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

/** Patterns the schemas use, with the message a mismatch gets (Ajv would print the pattern). */
const NONBLANK = '\\S';
const LIMIT = '^(100|[1-9][0-9]?)$';
const VERSION = '^[1-9][0-9]{0,14}$';
const patternMessages: Record<string, string> = {
  [NONBLANK]: 'must not be blank',
  [LIMIT]: `must be a whole number from 1 to ${MAX_LIMIT}`,
  [VERSION]: 'must be a positive whole number',
};

const title = { type: 'string', minLength: 1, maxLength: 200, pattern: NONBLANK } as const;
const author = { type: 'string', minLength: 1, maxLength: 64, pattern: NONBLANK } as const;
const text = { type: 'string', maxLength: 20_000 } as const;
const cursor = { type: 'string', minLength: 1, maxLength: 2000 } as const;

const newPostSchema = {
  type: 'object',
  required: ['title', 'author'],
  additionalProperties: false,
  properties: { title, author, body: text },
} as const;
const putPostSchema = {
  type: 'object',
  required: ['title', 'author', 'version'],
  additionalProperties: false,
  properties: { title, author, body: text, version: { type: 'integer', minimum: 1 } },
} as const;
const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 255 } },
} as const;
const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: { type: 'string', pattern: LIMIT }, after: cursor },
} as const;

interface NewPost {
  title: string;
  author: string;
  body?: string;
}
interface ListQuery {
  limit?: string;
  after?: string;
}

/** A record as the API returns it. */
export interface PostJson {
  id: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  value: Post;
}

function toJson(post: Doc<Post>): PostJson {
  return {
    id: post.id,
    version: post.version,
    createdAt: post.createdAt.toISOString(),
    updatedAt: post.updatedAt.toISOString(),
    value: post.value,
  };
}

/** A page of posts, newest first: of every author, or of one. */
export async function listPosts(
  { posts, byTime, byAuthor }: Blog,
  options: { author?: string | undefined; limit?: number; after?: string | undefined },
): Promise<{ posts: Doc<Post>[]; next?: string }> {
  const limit = options.limit ?? DEFAULT_LIMIT;
  const query =
    options.author === undefined
      ? posts.select(undefined, { orderBy: byTime.c.time.desc(), limit, after: options.after })
      : posts.select(byAuthor.c.author.eq(options.author), {
          orderBy: byAuthor.c.time.desc(),
          limit,
          after: options.after,
        });
  const page = await query.page();
  return page.next === undefined ? { posts: page.records } : { posts: page.records, next: page.next };
}

async function createPost({ posts }: Blog, input: NewPost): Promise<Doc<Post>> {
  const value: Post = {
    title: input.title,
    body: input.body ?? '',
    author: input.author,
    created: Date.now(),
  };
  return posts.save(posts.new(value));
}

/** The status and the message a client sees for an error; internals stay in the log. */
function describeError(error: unknown): { status: number; message: string; extra?: object } {
  if (ValidationError.is(error)) return { status: 400, message: error.message };
  if (ConflictError.is(error)) {
    return {
      status: 409,
      message: error.message,
      extra: { currentVersion: error.currentVersion ?? null, deleted: error.deleted },
    };
  }
  if (NotFoundError.is(error)) return { status: 404, message: error.message };
  if (ShardUnavailableError.is(error)) {
    return { status: 503, message: 'A database of the blog is unavailable; try again later' };
  }
  if (!WaffleError.is(error) && error instanceof Error) {
    // Fastify's own client errors: schema validation, malformed JSON, an unsupported media type, a body too large.
    const status = (error as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500)
      return { status, message: error.message };
  }
  return { status: 500, message: 'Internal Server Error' };
}

function notFound(id: string): NotFoundError {
  return new NotFoundError(`Post "${id}" does not exist`);
}

/**
 * The blog service over an open blog (its entity created): the JSON API under
 * `/api` and the HTML page at `/`. Closing the app does not close the shards.
 */
export function buildServer(blog: Blog, options: { logger?: FastifyServerOptions['logger'] } = {}) {
  const app = fastify({
    logger: options.logger ?? false,
    // Strict bodies: no silent coercion ("title": 5) nor removal of unknown fields.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
    schemaErrorFormatter(errors, dataVar) {
      const error = errors[0]!;
      if (error.keyword === 'required') {
        return new Error(
          `${dataVar}${error.instancePath}/${String(error.params.missingProperty)} is required`,
        );
      }
      const pattern = error.keyword === 'pattern' ? patternMessages[String(error.params.pattern)] : undefined;
      return new Error(`${dataVar}${error.instancePath} ${pattern ?? error.message}`);
    },
  });

  // The page's form posts application/x-www-form-urlencoded.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 256 * 1024 },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  app.setErrorHandler((error, request, reply) => {
    const described = describeError(error);
    const { status, extra } = described;
    const message =
      status === 415
        ? `Unsupported Media Type "${request.headers['content-type']}": send application/json`
        : described.message;
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    const name = STATUS_CODES[status] ?? 'Error';
    if (request.url.startsWith('/api/')) {
      return reply.status(status).send({ statusCode: status, error: name, message, ...extra });
    }
    return reply
      .status(status)
      .type('text/html; charset=utf-8')
      .send(errorPage(status, name, message));
  });

  app.post<{ Body: NewPost }>('/api/posts', { schema: { body: newPostSchema } }, async (request, reply) => {
    const post = await createPost(blog, request.body);
    return reply
      .status(201)
      .header('location', `/api/posts/${encodeURIComponent(post.id)}`)
      .send(toJson(post));
  });

  app.get<{ Params: { id: string } }>('/api/posts/:id', { schema: { params: idParams } }, async (request) => {
    const post = await blog.posts.get(request.params.id);
    if (!post) throw notFound(request.params.id);
    return toJson(post);
  });

  app.put<{ Params: { id: string }; Body: NewPost & { version: number } }>(
    '/api/posts/:id',
    { schema: { params: idParams, body: putPostSchema } },
    async (request) => {
      const { id } = request.params;
      const { title, author, body = '', version } = request.body;
      const post = await blog.posts.get(id);
      if (!post) throw notFound(id);
      // save() is a compare-and-set on the version it is given: the one the client read.
      post.version = version;
      post.value = { ...post.value, title, author, body };
      return toJson(await blog.posts.save(post));
    },
  );

  app.delete<{ Params: { id: string }; Querystring: { version?: string } }>(
    '/api/posts/:id',
    {
      schema: {
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { version: { type: 'string', pattern: VERSION } },
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const expectedVersion = request.query.version === undefined ? undefined : Number(request.query.version);
      let deleted: boolean;
      try {
        deleted = await blog.posts.delete(id, expectedVersion === undefined ? {} : { expectedVersion });
      } catch (error) {
        if (ConflictError.is(error) && error.currentVersion === undefined) throw notFound(id);
        throw error;
      }
      if (!deleted) throw notFound(id);
      return reply.status(204).send();
    },
  );

  const list = (author: string | undefined, query: ListQuery) =>
    listPosts(blog, {
      author,
      limit: query.limit === undefined ? undefined : Number(query.limit),
      after: query.after,
    }).then((page) => ({ posts: page.posts.map(toJson), ...(page.next ? { next: page.next } : {}) }));

  app.get<{ Querystring: ListQuery }>('/api/posts', { schema: { querystring: listQuery } }, (request) =>
    list(undefined, request.query),
  );

  app.get<{ Params: { author: string }; Querystring: ListQuery }>(
    '/api/authors/:author/posts',
    {
      schema: {
        params: { type: 'object', required: ['author'], properties: { author } },
        querystring: listQuery,
      },
    },
    (request) => list(request.params.author, request.query),
  );

  const html = (reply: FastifyReply, status: number, body: string) =>
    reply
      .status(status)
      .type('text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
      .send(body);

  const home = async (query: { author?: string; after?: string }, form?: FormValues, error?: string) => {
    const page = await listPosts(blog, {
      author: query.author || undefined,
      after: query.after || undefined,
    });
    return homePage({ ...page, author: query.author || undefined, form, error });
  };

  app.get<{ Querystring: { author?: string; after?: string } }>(
    '/',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { author: { type: 'string', maxLength: 64 }, after: { ...cursor, minLength: 0 } },
        },
      },
    },
    async (request, reply) => html(reply, 200, await home(request.query)),
  );

  // The page's form: a plain POST, then a redirect (303) back to the list; a bad form is shown again with why.
  app.post<{ Body: NewPost }>(
    '/posts',
    {
      schema: {
        body: {
          type: 'object',
          required: ['title', 'author'],
          properties: { title, author, body: text },
        },
      },
      attachValidation: true,
    },
    async (request, reply) => {
      if (request.validationError) {
        const form = request.body && typeof request.body === 'object' ? (request.body as FormValues) : {};
        const why = request.validationError.message.replace(/^body\//, '');
        return html(reply, 400, await home({}, form, why));
      }
      await createPost(blog, request.body);
      return reply.redirect('/', 303);
    },
  );

  return app;
}

/** What {@link startServer} takes. */
export interface StartOptions {
  /** Where the data lives. */
  readonly config: ExampleConfig;
  /** The port to listen on (0: a free one). Default 3000. */
  readonly port?: number;
  /** The address to listen on. Default 127.0.0.1. */
  readonly host?: string;
  /** Save the sample posts when the blog holds none. Default false. */
  readonly seed?: boolean;
  readonly logger?: FastifyServerOptions['logger'];
}

/**
 * Opens the shards, creates the entity's tables where missing, and starts the
 * service. Closing `app` closes the shards too.
 */
export async function startServer(
  options: StartOptions,
): Promise<{ app: FastifyInstance; url: string; blog: Blog }> {
  const shards = openShards(options.config);
  let app: FastifyInstance | undefined;
  try {
    const blog = blogOf(shards.postShards, shards.authorShards);
    await blog.posts.create();
    if (options.seed) await seedPosts(blog);
    app = buildServer(blog, { logger: options.logger });
    app.addHook('onClose', () => closeShards(shards));
    await app.listen({ port: options.port ?? 3000, host: options.host ?? '127.0.0.1' });
    const { address, family, port } = app.server.address() as AddressInfo;
    return { app, url: `http://${family === 'IPv6' ? `[${address}]` : address}:${port}`, blog };
  } catch (error) {
    if (app) await app.close();
    else await closeShards(shards);
    throw error;
  }
}
