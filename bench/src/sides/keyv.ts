/**
 * Keyv with @keyv/postgres: a key-value store, so only W0 and W1 (set: one
 * row, without the index row W1's other sides write), W2 (setMany), R1 (get)
 * and R2 (getMany); no versions, no index, no queries.
 */
import KeyvPostgres from '@keyv/postgres';
import Keyv from 'keyv';
import type { BenchConfig } from '../config.js';
import { type Picks, type Preload, preloadChunks } from '../workload/data.js';
import { type BenchPost, benchPost } from '../workload/document.js';
import { uuidv7 } from '../workload/ids.js';
import { type Side, sanityCheck } from '../workload/operations.js';

/** The Keyv side on table `table` of the database at `url`, with `preload` stored. */
export async function keyvSide(
  url: string,
  table: string,
  config: BenchConfig,
  preload: Preload,
  pick: Picks,
): Promise<Side> {
  const store = new KeyvPostgres({ uri: url, table });
  const keyv = new Keyv<BenchPost>({ store, namespace: 'bench' });
  keyv.on('error', () => {}); // errors reach the awaiting call as well; without a listener they would also crash the process
  for (const part of preloadChunks(preload, config.batch)) {
    await keyv.setMany(part.map(({ id, value }) => ({ key: id, value })));
  }
  let next = preload.ids.length;
  // One row, whether the other sides write an index row beside it (W1) or not (W0).
  const set = async () => {
    sanityCheck(await keyv.set(uuidv7(), benchPost(next++)), 'set');
  };
  return {
    name: 'Keyv',
    ops: {
      W0: set,
      W1: set,
      async W2() {
        const entries = Array.from({ length: config.batch }, () => ({
          key: uuidv7(),
          value: benchPost(next++),
        }));
        // @keyv/postgres's setMany resolves to nothing: a failure is a rejection.
        await keyv.setMany(entries);
      },
      async R1() {
        sanityCheck((await keyv.get(pick.id())) !== undefined, 'get');
      },
      async R2() {
        const found = await keyv.getMany(pick.ids(config.many));
        sanityCheck(
          found.every((v) => v !== undefined),
          'getMany',
        );
      },
    },
    close: () => keyv.disconnect(),
  };
}
