/**
 * The config module: where the `waffle` command finds the application's
 * entities, and how it loads it (TypeScript through jiti, JavaScript natively).
 */

import { existsSync, statSync } from 'node:fs';
import { extname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Entity, Index } from '@waffle/core';
import type { Shard } from '@waffle/core/adapter';
import { createJiti } from 'jiti';

/** What a `waffle.config.*` module exports by default: see {@link defineConfig}. */
export interface WaffleConfig {
  /** The entities the commands work on, each with its shards and indices, as the application defines them. */
  readonly entities: readonly Entity<any>[];
  /**
   * Indices taken out of an entity that `waffle drop-index` may drop, by
   * entity name: an index still in the entity's `indices` is refused (every
   * write maintains it), so a retired index is listed here until it is dropped.
   */
  readonly retired?: Readonly<Record<string, readonly Index<any, any>[]>>;
}

/**
 * Declares the config of the `waffle` command: the default export of
 * `waffle.config.ts` (or `.mts`, `.js`, `.mjs`) in the working directory.
 *
 * @example
 * ```ts
 * import { defineConfig } from '@waffle/cli';
 * import { posts } from './src/blog.js';
 *
 * export default defineConfig({ entities: [posts] });
 * ```
 */
export function defineConfig(config: WaffleConfig): WaffleConfig {
  return config;
}

/** The file names looked for in the working directory, in this order. */
export const CONFIG_FILES = [
  'waffle.config.ts',
  'waffle.config.mts',
  'waffle.config.js',
  'waffle.config.mjs',
];

/** A mistake in how the command was called or configured (exit code 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A loaded config: its file, entities by name, and the shards to close at the end. */
export interface LoadedConfig {
  readonly path: string;
  readonly entities: readonly Entity<any>[];
  readonly retired: Readonly<Record<string, readonly Index<any, any>[]>>;
}

/** Finds the config file: `--config` (or `WAFFLE_CONFIG`) if given, else the first of {@link CONFIG_FILES} in `cwd`. */
export function findConfig(cwd: string, given: string | undefined): string {
  if (given !== undefined) {
    const path = isAbsolute(given) ? given : resolve(cwd, given);
    if (!existsSync(path) || !statSync(path).isFile()) throw new UsageError(`config file not found: ${path}`);
    return path;
  }
  for (const name of CONFIG_FILES) {
    const path = join(cwd, name);
    if (existsSync(path)) return path;
  }
  throw new UsageError(
    `no config in ${cwd}: create ${CONFIG_FILES[0]} (or ${CONFIG_FILES.slice(1).join(', ')}) ` +
      'whose default export is defineConfig({ entities: [...] }), or pass --config <path> (or set WAFFLE_CONFIG)',
  );
}

/** Imports the config module and checks its default export. */
export async function loadConfig(path: string): Promise<LoadedConfig> {
  let exported: unknown;
  try {
    const ext = extname(path);
    if (ext === '.ts' || ext === '.mts' || ext === '.cts') {
      exported = await createJiti(import.meta.url, { moduleCache: false }).import(path, { default: true });
    } else {
      const module = (await import(pathToFileURL(path).href)) as { default?: unknown };
      exported = module.default;
    }
  } catch (error) {
    throw new UsageError(`could not load the config ${path}: ${(error as Error)?.message ?? String(error)}`, {
      cause: error,
    });
  }
  const config = exported as Partial<WaffleConfig> | undefined;
  if (typeof config !== 'object' || config === null || !Array.isArray(config.entities)) {
    throw new UsageError(
      `${path}: the default export must be defineConfig({ entities: [...] }), got ${
        config === undefined ? 'no default export' : typeof config
      }`,
    );
  }
  const seen = new Set<string>();
  for (const [i, entity] of config.entities.entries()) {
    const candidate = entity as Partial<Entity<unknown>> | undefined;
    if (typeof candidate?.name !== 'string' || typeof candidate.status !== 'function') {
      throw new UsageError(`${path}: entities[${i}] is not an Entity`);
    }
    if (seen.has(candidate.name))
      throw new UsageError(`${path}: the entity "${candidate.name}" is listed twice`);
    seen.add(candidate.name);
  }
  const retired = config.retired ?? {};
  if (typeof retired !== 'object' || retired === null) {
    throw new UsageError(`${path}: retired must map entity names to lists of indices`);
  }
  for (const [name, indices] of Object.entries(retired)) {
    if (!seen.has(name))
      throw new UsageError(`${path}: retired names the entity "${name}", which is not in entities`);
    if (!Array.isArray(indices) || indices.some((ix) => typeof ix?.name !== 'string' || !ix.strategy)) {
      throw new UsageError(`${path}: retired.${name} must be a list of Index objects`);
    }
  }
  return { path, entities: config.entities, retired };
}

/** The entity called `name`, else a {@link UsageError} listing those there are. */
export function entityNamed(config: LoadedConfig, name: string): Entity<any> {
  const entity = config.entities.find((e) => e.name === name);
  if (entity) return entity;
  throw new UsageError(
    `unknown entity "${name}": ${config.path} has ${namesOf(config.entities) || 'no entities'}`,
  );
}

/** The index of `entity` called `name`, else a {@link UsageError} listing those there are. */
export function indexNamed(entity: Entity<any>, name: string): Index<any, any> {
  const index = entity.indices.find((ix) => ix.name === name);
  if (index) return index;
  throw new UsageError(
    `unknown index "${name}" of entity "${entity.name}": it has ${namesOf(entity.indices) || 'no indices'}`,
  );
}

/** Every shard the config reaches, each once: record shards, index shards, retired indices' shards. */
export function shardsOf(config: LoadedConfig): Shard[] {
  const shards = new Set<Shard>();
  for (const entity of config.entities) {
    for (const shard of entity.strategy.shards) shards.add(shard);
    for (const index of entity.indices) for (const shard of index.strategy.shards) shards.add(shard);
  }
  for (const indices of Object.values(config.retired)) {
    for (const index of indices) for (const shard of index.strategy.shards) shards.add(shard);
  }
  return [...shards];
}

function namesOf(items: readonly { readonly name: string }[]): string {
  return items.map((item) => item.name).join(', ');
}
