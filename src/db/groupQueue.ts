/**
 * The queue behind group commit: items wait while `maxInFlight` flushes run, and those that arrived meanwhile go
 * together (at most `maxBatch`) into the next flush. `flush` answers every item of its group itself and must not
 * throw. Example: `new GroupQueue((group) => insertAll(group), 2, 500).push(item)`.
 */
export class GroupQueue<T> {
  private queue: T[] = [];
  private inFlight = 0;

  constructor(
    private readonly flush: (group: T[]) => Promise<void>,
    private readonly maxInFlight: number,
    private readonly maxBatch: number,
  ) {}

  push(item: T): void {
    this.queue.push(item);
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const group = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      void this.flush(group).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }
}
