import { fileURLToPath } from 'node:url';
import { runExample } from './blog.js';

// Data files live beside the app (apps/example/data) unless WAFFLE_EXAMPLE_DATA says otherwise.
const dataDir = process.env.WAFFLE_EXAMPLE_DATA ?? fileURLToPath(new URL('../data/', import.meta.url));
await runExample(dataDir);
