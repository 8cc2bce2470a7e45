/**
 * The report of a run: per dialect a Markdown table (each side's median
 * rate, and waffle's ratio to each other side), S1's rates and peak RSS, and
 * the notes.
 */
import { cpus } from 'node:os';
import type { BenchConfig } from './config.js';
import { bySide, formatNumber, markdownTable } from './harness/markdown.js';
import type { DialectResult, ScanResult } from './results.js';
import { DISPLAY_ORDER, type SideName } from './workload/operations.js';

/** The most a scan's peak RSS may grow from the small table to the large one (the target). */
export const RSS_GROWTH_TARGET_MB = 50;

const MB = 2 ** 20;
const TITLES = { libsql: 'libSQL', postgres: 'PostgreSQL', mysql: 'MySQL' } as const;
const PEERS = ['Keyv', 'Pongo'] as const;

const cell = (n: number | undefined) => (n === undefined ? '–' : formatNumber(n));
const ratio = (waffle: number | undefined, other: number | undefined) =>
  waffle === undefined || other === undefined ? '–' : (waffle / other).toFixed(2);

/** The peers in the table: those measured, or noted as missing. */
function peersOf(result: DialectResult): SideName[] {
  return PEERS.filter(
    (peer) =>
      result.operations.some((op) => op.figures[peer] !== undefined) ||
      result.notes.some((note) => note.startsWith(peer)),
  );
}

/** A row: the label, raw, waffle, waffle/raw, then each peer and waffle/peer. */
function row(label: string, f: Partial<Record<SideName, number>>, peers: readonly SideName[], ratios = true) {
  const r = (other: number | undefined) => (ratios ? ratio(f.waffle, other) : '–');
  return [label, cell(f.raw), cell(f.waffle), r(f.raw), ...peers.flatMap((p) => [cell(f[p]), r(f[p])])];
}

/** S1's rows: rates and peak RSS at both sizes, and the growth of the peak between them. */
function scanRows(scan: ScanResult, peers: readonly SideName[]): string[][] {
  const [small, large] = scan.sizes.map(formatNumber) as [string, string];
  const { raw, waffle } = scan.figures;
  const pick = (f: (s: NonNullable<typeof raw>) => number) => ({
    raw: raw && f(raw),
    waffle: waffle && f(waffle),
  });
  return [
    row(
      `S1 scan ${large} (docs/s)`,
      pick((s) => s.rates[1]),
      peers,
    ),
    row(
      `S1 scan ${small} (docs/s)`,
      pick((s) => s.rates[0]),
      peers,
    ),
    row(
      `S1 peak RSS, ${large} (MB)`,
      pick((s) => s.peakRss[1] / MB),
      peers,
      false,
    ),
    row(
      `S1 peak RSS, ${small} (MB)`,
      pick((s) => s.peakRss[0] / MB),
      peers,
      false,
    ),
    row(
      `S1 peak RSS growth, ${small} → ${large} (MB)`,
      pick((s) => (s.peakRss[1] - s.peakRss[0]) / MB),
      peers,
      false,
    ),
  ];
}

/** The note of the time each side spent in garbage collection, per operation; undefined when none was measured. */
export function gcNote(result: DialectResult): string | undefined {
  const parts = DISPLAY_ORDER.flatMap((id) => {
    const gc = result.operations.find((o) => o.id === id)?.gcMsPerSecond;
    if (!gc) return [];
    const sides = Object.entries(gc);
    return sides.length > 0 ? [`${id} ${bySide(sides)}`] : [];
  });
  if (parts.length === 0) return undefined;
  return `Garbage collection, ms per second of each side's rounds (medians): ${parts.join('; ')}.`;
}

/** The Markdown section of one dialect. */
export function dialectSection(result: DialectResult): string {
  const peers = peersOf(result);
  const header = ['operation', 'raw', 'waffle', 'waffle/raw', ...peers.flatMap((p) => [p, `waffle/${p}`])];
  const rows = DISPLAY_ORDER.flatMap((id) => {
    const op = result.operations.find((o) => o.id === id);
    return op ? [row(`${op.label} (${op.unit})`, op.figures, peers)] : [];
  });
  if (result.scan) rows.push(...scanRows(result.scan, peers));
  const growth = result.scan?.figures.waffle;
  const notes = [...result.notes];
  const gc = gcNote(result);
  if (gc) notes.push(gc);
  if (growth) {
    const mb = (growth.peakRss[1] - growth.peakRss[0]) / MB;
    notes.push(
      `waffle's scan peak RSS grew ${formatNumber(mb)} MB from ${formatNumber(result.scan!.sizes[0])} to ${formatNumber(result.scan!.sizes[1])} records (target: within ${RSS_GROWTH_TARGET_MB} MB: ${mb <= RSS_GROWTH_TARGET_MB ? 'met' : 'MISSED'}).`,
    );
  }
  return [
    `### ${TITLES[result.dialect]}`,
    '',
    result.server,
    '',
    ...(rows.length > 0 ? [markdownTable([header, ...rows]), ''] : []),
    ...notes.map((note) => `- ${note}`),
    ...(result.error ? ['', `**Failed:**`, '', '```', result.error, '```'] : []),
  ].join('\n');
}

/** The whole report: the conditions of the run, then each dialect. */
export function markdownReport(
  results: readonly DialectResult[],
  config: BenchConfig,
  started: Date,
): string {
  const { warmupMs, roundMs, rounds } = config.timing;
  const cores = cpus();
  return [
    `## waffle benchmark${config.smoke ? ' (smoke run: sizes too small to mean anything)' : ''}`,
    '',
    `${started.toISOString()}; Node ${process.version}, ${process.platform}-${process.arch}, ${cores.length} × ${cores[0]?.model.trim() ?? 'unknown CPU'}.`,
    `Medians of ${rounds} round(s) of ${roundMs} ms per side after ${warmupMs} ms of warm-up, rounds alternating between the sides; ` +
      `~1 KB JSON documents; ${formatNumber(config.preload)} records preloaded on every side (reads and queries pick among them); ` +
      `S1 in a child process per side and size, ${config.scanRounds} round(s), pages of ${config.scanPage}.`,
    'Ratios are waffle / other: above 1 waffle is faster.',
    '',
    ...results.map((r) => `${dialectSection(r)}\n`),
  ].join('\n');
}
