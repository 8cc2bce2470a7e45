import { fileURLToPath } from 'node:url';
import { configFromEnv, describeData } from './blog.js';
import { startServer } from './server.js';

// Embedded libSQL files beside the app (apps/example/data) unless WAFFLE_SHARDS lists shard URLs.
const config = configFromEnv(process.env, fileURLToPath(new URL('../data/', import.meta.url)));

const port = Number(process.env.PORT || 3000);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PORT must be a port number from 0 to 65535 (0: any free port), got "${process.env.PORT}"`);
  process.exit(2);
}
const host = process.env.HOST || '127.0.0.1';

let started: Awaited<ReturnType<typeof startServer>>;
try {
  started = await startServer({
    config,
    port,
    host,
    seed: true,
    logger: { level: process.env.LOG_LEVEL || 'warn' },
  });
} catch (error) {
  const code = (error as { code?: unknown }).code;
  if (code === 'EADDRINUSE') {
    console.error(`Port ${port} on ${host} is in use: set PORT to another port (PORT=0 picks a free one)`);
  } else {
    console.error('The blog could not start:', error instanceof Error ? error.message : error);
  }
  process.exit(1);
}

console.log(`waffle blog on ${started.url}`);
console.log(`data: ${describeData(config)}`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1); // a second Ctrl-C: do not wait
    stopping = true;
    started.app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('Closing failed:', error);
        process.exit(1);
      },
    );
  });
}
