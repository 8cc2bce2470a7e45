/**
 * The child process of one S1 measurement: scans one table, checks it read
 * every record, and prints its rate and its peak resident set size. A process
 * of its own per scan, so that the peak belongs to this scan alone.
 */
import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { ScanAnswer, ScanJob } from './job.js';
import { openSource } from './sources.js';

const STATUS = '/proc/self/status';

/**
 * Peak RSS is Linux's VmHWM, which starts anew at exec. Not
 * `process.resourceUsage().maxRSS`: Linux carries that over from the parent
 * through fork and exec, so a child of a large parent would report the
 * parent's size. Without procfs, the largest of RSS samples taken every 5 ms.
 */
function peakRssMeter(): () => number {
  if (existsSync(STATUS)) {
    return () => Number(/^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(STATUS, 'utf8'))?.[1]) * 1024;
  }
  let peak = process.memoryUsage.rss();
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage.rss());
    return peak;
  };
  setInterval(sample, 5).unref();
  return sample;
}

const job = JSON.parse(process.argv[2]!) as ScanJob;
const peakRss = peakRssMeter();
const source = await openSource(job); // imports and client: not part of the scan's time
const start = performance.now();
const count = await source.count();
const seconds = (performance.now() - start) / 1000;
await source.close();
if (count !== job.count) throw new Error(`scan of ${job.table} read ${count} records of ${job.count}`);
const answer: ScanAnswer = { rate: count / seconds, peakRss: peakRss() };
process.stdout.write(`${JSON.stringify(answer)}\n`);
