import { describe } from 'vitest';
import type { ConformanceOptions } from './options.js';
import { codecSuite } from './suite-codecs.js';
import { convergenceSuite } from './suite-convergence.js';
import { faultSuite } from './suite-faults.js';
import { predicateSuite } from './suite-predicates.js';
import { querySuite } from './suite-queries.js';
import { raceSuite } from './suite-races.js';
import { recordSuite } from './suite-records.js';
import { repairSuite } from './suite-repair.js';

export { orderArbitrary, predicateArbitrary, prefixArbitrary, valueArbitraries } from './arbitraries.js';
export { expectRowsOf, storedRowsOf } from './convergence.js';
export {
  ALL_DIALECTS,
  type Dialect,
  dialectEnabled,
  enabledDialects,
  SHARD_DATABASES,
  servers,
  shardDatabaseUrls,
} from './env.js';
export { type FaultOptions, Faults } from './faults.js';
export { type BlogNames, blog, type Post, post, shardPool } from './fixtures.js';
export { type Capabilities, type ConformanceOptions, uniqueName } from './options.js';
export { bruteForce } from './oracle.js';
export { columnRef, type IndexColumnTuple, indexTableSpec, recordRow } from './shard-helpers.js';
export {
  equalButNegativeZero,
  type SerializerConformanceOptions,
  serializerConformance,
  serializerValues,
} from './suite-serializer.js';
export { serializationError, thrown } from './thrown.js';

/**
 * The conformance suite every shard adapter runs: records, queries (checked
 * against brute force), and predicate compilation (checked against core's
 * JavaScript evaluation) and, unless switched off in `capabilities`,
 * transactions, on real databases. Call it at the top of a test file.
 *
 * @example
 * shardConformance({ name: 'libsql', serializer: json(), openShards: async (n) => … });
 */
export function shardConformance(options: ConformanceOptions): void {
  describe(`${options.name} conformance`, () => {
    recordSuite(options);
    querySuite(options);
    predicateSuite(options);
    codecSuite(options);
    repairSuite(options);
    faultSuite(options);
    convergenceSuite(options);
    raceSuite(options);
  });
}
