import { describe } from 'vitest';
import type { ConformanceOptions } from './options.js';
import { codecSuite } from './suite-codecs.js';
import { contractCloseSuite } from './suite-contract-close.js';
import { contractCommitSuite } from './suite-contract-commit.js';
import { contractErrorSizeSuite } from './suite-contract-error-size.js';
import { contractErrorSuite } from './suite-contract-errors.js';
import { contractHistorySuite } from './suite-contract-history.js';
import { contractIndexRowSuite } from './suite-contract-index-rows.js';
import { contractJoinSuite } from './suite-contract-join.js';
import { contractMetaSuite } from './suite-contract-meta.js';
import { contractNameSuite } from './suite-contract-names.js';
import { contractNoteSuite } from './suite-contract-notes.js';
import { contractQuerySuite } from './suite-contract-queries.js';
import { contractRecordSuite } from './suite-contract-records.js';
import { convergenceSuite } from './suite-convergence.js';
import { dropSuite } from './suite-drop.js';
import { faultSuite } from './suite-faults.js';
import { fixedAnswerSuite } from './suite-fixed.js';
import { heldStepSuite } from './suite-held.js';
import { hostileSuite } from './suite-hostile.js';
import { lifecycleSuite } from './suite-lifecycle.js';
import { messageSuite } from './suite-messages.js';
import { modelSuite } from './suite-model.js';
import { predicateSuite } from './suite-predicates.js';
import { querySuite } from './suite-queries.js';
import { raceSuite } from './suite-races.js';
import { recordSuite } from './suite-records.js';
import { repairSuite } from './suite-repair.js';
import { replicaSuite } from './suite-replicas.js';
import { transferSuite } from './suite-transfer.js';

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
export { carriesCommit, type DownMode, TcpProxy } from './proxy.js';
export { columnRef, type IndexColumnTuple, indexTableSpec, recordRow } from './shard-helpers.js';
export {
  equalButNegativeZero,
  type SerializerConformanceOptions,
  serializerConformance,
  serializerValues,
} from './suite-serializer.js';
export { serializationError, thrown } from './thrown.js';

/**
 * The conformance suite every shard adapter runs: entities over its shards
 * (records, queries checked against brute force, predicate compilation
 * checked against core's JavaScript evaluation, fixed queries whose answers
 * are written out, codecs, repair, faults,
 * convergence, steps of writes held while others run, races, what errors say, export and import, hostile input,
 * random command sequences checked against a model, entities over replicas
 * with one of them down), on real databases. Call it at the top of a test
 * file, with {@link shardContract} for the shard operations themselves.
 *
 * @example
 * shardConformance({ name: 'libsql', serializer: json(), openShards: async (n) => … });
 */
export function shardConformance(options: ConformanceOptions): void {
  describe(`${options.name} conformance`, () => {
    recordSuite(options);
    querySuite(options);
    predicateSuite(options);
    fixedAnswerSuite(options);
    codecSuite(options);
    repairSuite(options);
    faultSuite(options);
    convergenceSuite(options);
    heldStepSuite(options);
    raceSuite(options);
    dropSuite(options);
    lifecycleSuite(options);
    messageSuite(options);
    transferSuite(options);
    hostileSuite(options);
    modelSuite(options);
    replicaSuite(options);
  });
}

/**
 * The shard contract (`Shard` of `@waffle/core/adapter`), specified once for
 * every adapter: each operation called directly on real databases, with
 * core's table specs and rows. Records and bodies, getRecords and
 * scanRecords, commit (inserts, compare-and-set, index rows and history of
 * the records written, atomicity, tombstones), notes, history, index rows,
 * index queries (order, text by code point, values of every kind, the JOIN
 * with records), names, errors, metadata and close. Call it at the top of a
 * test file, beside {@link shardConformance}.
 *
 * @example
 * shardContract({ name: 'libsql', serializer: json(), openShards: async (n) => … });
 */
export function shardContract(options: ConformanceOptions): void {
  describe(`${options.name} shard contract`, () => {
    contractMetaSuite(options);
    contractRecordSuite(options);
    contractCommitSuite(options);
    contractNoteSuite(options);
    contractHistorySuite(options);
    contractIndexRowSuite(options);
    contractQuerySuite(options);
    contractJoinSuite(options);
    contractNameSuite(options);
    contractErrorSuite(options);
    contractErrorSizeSuite(options);
    contractCloseSuite(options);
  });
}
