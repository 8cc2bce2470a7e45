/**
 * `@waffle/cli`: the `waffle` command (status, create, backfill, verify,
 * repair, drain, reencode, drop-index, export, import) and `defineConfig`
 * for its config module.
 */

export { EXIT, run } from './cli.js';
export { CONFIG_FILES, defineConfig, UsageError, type WaffleConfig } from './config.js';
export type { CliIO } from './output.js';
