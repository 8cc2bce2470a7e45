/**
 * A record of an entity: its id, the application's value, and the bookkeeping
 * waffle keeps. `version` is 0 until the first save, 1 after it, and grows by
 * exactly 1 per write.
 */
export interface Doc<T> {
  readonly id: string;
  value: T;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}
