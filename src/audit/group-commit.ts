import { isConnectionError } from '../errors.js';

interface Waiting<T, R> {
  items: T[];
  resolve: (results: R[]) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitOptions {
  /** Transactions in flight at once; what arrives meanwhile waits and goes in the next one. */
  inFlight: number;
  /** At most this many items in one combined transaction. */
  maxItems: number;
}

/**
 * Group commit: small submissions that arrive while earlier ones are being stored are combined
 * into one transaction (one insert per table, one seal, one commit), and each caller gets back the
 * results of its own items, in order. Nothing waits on a timer: a submission that finds a free slot
 * goes at once, so a lone caller sees no added latency.
 *
 * One caller's bad item must not fail the others: when a combined transaction fails for any reason
 * but a lost database connection, each submission in it is stored again on its own, and only the
 * faulty one fails.
 */
export class GroupCommit<T, R> {
  private readonly queue: Array<Waiting<T, R>> = [];
  private running = 0;

  constructor(
    private readonly store: (items: T[]) => Promise<R[]>,
    private readonly options: GroupCommitOptions,
  ) {}

  submit(items: T[]): Promise<R[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.running >= this.options.inFlight || this.queue.length === 0) return;
    const group: Array<Waiting<T, R>> = [this.queue.shift()!];
    let size = group[0]!.items.length;
    while (this.queue.length > 0 && size + this.queue[0]!.items.length <= this.options.maxItems) {
      const waiting = this.queue.shift()!;
      size += waiting.items.length;
      group.push(waiting);
    }
    this.running++;
    void this.commit(group).finally(() => {
      this.running--;
      this.next();
    });
  }

  private async commit(group: Array<Waiting<T, R>>): Promise<void> {
    if (group.length === 1) return this.alone(group[0]!);
    let results: R[];
    try {
      results = await this.store(group.flatMap((waiting) => waiting.items));
    } catch (error) {
      if (isConnectionError(error)) {
        for (const waiting of group) waiting.reject(error);
        return;
      }
      await Promise.all(group.map((waiting) => this.alone(waiting)));
      return;
    }
    let offset = 0;
    for (const waiting of group) {
      waiting.resolve(results.slice(offset, offset + waiting.items.length));
      offset += waiting.items.length;
    }
  }

  private async alone(waiting: Waiting<T, R>): Promise<void> {
    try {
      waiting.resolve(await this.store(waiting.items));
    } catch (error) {
      waiting.reject(error);
    }
  }
}
