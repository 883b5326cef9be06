/**
 * An async iterator fed by a callback: what live captures return. Holds at
 * most `limit` items (the oldest are dropped and counted in `dropped`), so a
 * capture nobody reads cannot grow without bound. `close()` (or `break` in a
 * `for await`) stops the feed.
 */
export class FrameQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private head = 0;
  private waiter: ((r: IteratorResult<T>) => void) | undefined;
  private closed = false;
  /** Items dropped because `limit` were waiting. */
  dropped = 0;

  constructor(private readonly stop: () => void, private readonly limit = 10_000) {}

  push(item: T): void {
    if (this.closed) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: item, done: false });
      return;
    }
    if (this.items.length - this.head >= this.limit) {
      this.head++;
      this.dropped++;
    }
    this.items.push(item);
    if (this.head > 1024 && this.head * 2 > this.items.length) this.items.splice(0, this.head), (this.head = 0);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.items.length) return Promise.resolve({ value: this.items[this.head++]!, done: false });
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiter = resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stop();
    this.waiter?.({ value: undefined, done: true });
    this.waiter = undefined;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
