/**
 * What the command prints: results for people or, with `--json`, one JSON
 * object per line for scripts; and a progress bar on a terminal only.
 */

import type { Writable } from 'node:stream';
import cliProgress from 'cli-progress';

/** Where the command reads and writes: the process's streams, or a test's. */
export interface CliIO {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: Writable;
  readonly stderr: Writable & { readonly isTTY?: boolean };
  readonly cwd: string;
  /** The environment: `WAFFLE_CONFIG` names the config when `--config` does not. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** A progress display: a bar on a terminal, nothing elsewhere. */
export interface Progress {
  /** Whether a bar is shown (a terminal): else updates cost nothing. */
  readonly shown: boolean;
  /** The count done so far (and the total, once known). */
  update(done: number, total?: number): void;
  stop(): void;
}

const NONE: Progress = { shown: false, update() {}, stop() {} };

/** Prints results and errors in the mode the command was called with. */
export class Output {
  constructor(
    private readonly io: CliIO,
    readonly json: boolean,
    private readonly progressAllowed: boolean,
  ) {}

  /** One result: a JSON line with `--json` (on stdout, or stderr when stdout carries data), else the text lines. */
  result(value: object, text: string | readonly string[], toStderr = false): void {
    const stream = toStderr ? this.io.stderr : this.io.stdout;
    if (this.json) stream.write(`${JSON.stringify(value, jsonValue)}\n`);
    else stream.write(`${typeof text === 'string' ? text : text.join('\n')}\n`);
  }

  /** A failure: `error: …` on stderr, and with `--json` an `{ error }` object as the result. */
  error(value: object, message: string, toStderr = false): void {
    this.io.stderr.write(`error: ${message}\n`);
    if (this.json)
      (toStderr ? this.io.stderr : this.io.stdout).write(`${JSON.stringify(value, jsonValue)}\n`);
  }

  /** A progress bar for `label` on a terminal (stderr is a TTY, no `--json`, no `--no-progress`); else nothing. */
  progress(label: string, unit: string): Progress {
    if (!this.progressAllowed || this.json || this.io.stderr.isTTY !== true) return NONE;
    const bar = new cliProgress.SingleBar(
      {
        stream: this.io.stderr,
        format: `${label} [{bar}] {percentage}% {value}/{total} ${unit}`,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    let last = 0;
    return {
      shown: true,
      update(done, total) {
        const known = total ?? Math.max(done, last);
        if (!started) {
          bar.start(Math.max(known, 1), done);
          started = true;
        } else {
          if (known !== bar.getTotal()) bar.setTotal(Math.max(known, done, 1));
          bar.update(done);
        }
        last = known;
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
}

/** JSON of results: bigints as strings, dates as ISO strings (JSON.stringify's own). */
function jsonValue(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** `12,345`. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** `41 (libsql:a.db 20, libsql:b.db 21)`: a total and its parts per shard. */
export function perShard(parts: readonly { readonly shard: string; readonly n: number }[]): string {
  const total = parts.reduce((sum, part) => sum + part.n, 0);
  return `${count(total)} (${parts.map((part) => `${part.shard} ${count(part.n)}`).join(', ')})`;
}
