/**
 * A first-come, first-served read/write lock. A local libSQL client cannot
 * serve other statements while a transaction holds the database (an in-memory
 * database has a single connection; a file's write lock would make other
 * writers spin in SQLite's busy handler, which blocks the event loop), so the
 * shard runs its transactions exclusively and everything else shared.
 */
export class Gate {
  #readers = 0;
  #writer = false;
  readonly #queue: { exclusive: boolean; grant: () => void }[] = [];

  /** Runs `work` alongside other shared work, after every exclusive holder queued before it. */
  shared<T>(work: () => Promise<T>): Promise<T> {
    if (this.#queue.length > 0 || this.#writer) return this.#hold(false, work);
    // The common case, without an extra async frame: nobody holds or waits for the gate exclusively.
    this.#readers++;
    const release = () => {
      this.#readers--;
      this.#next();
    };
    let running: Promise<T>;
    try {
      running = work();
    } catch (error) {
      release();
      return Promise.reject(error);
    }
    return running.finally(release);
  }

  /**
   * Runs synchronous `work` at once when nobody holds or waits for the gate
   * exclusively (it cannot interleave with anything), else as shared work
   * after them.
   */
  now<T>(work: () => T): Promise<T> {
    if (this.#queue.length > 0 || this.#writer) return this.#hold(false, async () => work());
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Runs `work` alone. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.#hold(true, work);
  }

  async #hold<T>(exclusive: boolean, work: () => Promise<T>): Promise<T> {
    if (this.#queue.length === 0 && this.#free(exclusive)) this.#take(exclusive);
    else await new Promise<void>((resolve) => this.#queue.push({ exclusive, grant: resolve }));
    try {
      return await work();
    } finally {
      if (exclusive) this.#writer = false;
      else this.#readers--;
      this.#next();
    }
  }

  #free(exclusive: boolean): boolean {
    return !this.#writer && (!exclusive || this.#readers === 0);
  }

  #take(exclusive: boolean): void {
    if (exclusive) this.#writer = true;
    else this.#readers++;
  }

  #next(): void {
    while (this.#queue.length > 0 && this.#free(this.#queue[0]!.exclusive)) {
      const waiter = this.#queue.shift()!;
      this.#take(waiter.exclusive);
      waiter.grant();
    }
  }
}
