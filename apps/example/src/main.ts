import { fileURLToPath } from 'node:url';
import { configFromEnv, runExample } from './blog.js';

// Embedded libSQL files beside the app (apps/example/data) unless WAFFLE_SHARDS lists shard URLs.
await runExample(configFromEnv(process.env, fileURLToPath(new URL('../data/', import.meta.url))));
