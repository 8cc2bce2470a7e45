/**
 * The `waffle` command's config for the blog (`npx -y pnpm@12.4.2 waffle status` at the
 * repository root): the same entity and shards as the service, from the same settings.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from '@waffle/cli';
import { blog, configFromEnv, openShards } from './src/blog.js';

const { postShards, authorShards } = openShards(
  configFromEnv(process.env, fileURLToPath(new URL('./data/', import.meta.url))),
);
const { posts } = blog(postShards, authorShards);

export default defineConfig({ entities: [posts] });
