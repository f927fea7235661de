import type { AuditEvent } from '../audit/model.js';

/** The last item a subscriber gets when it fell more than its buffer behind. */
export const OVERFLOW = Symbol('subscriber buffer overflow');
export type LiveItem = AuditEvent | typeof OVERFLOW;

interface Subscriber {
  matches: (event: AuditEvent) => boolean;
  push: (event: AuditEvent) => void;
}

/**
 * Fans committed events out to live subscribers in this process. Each subscriber has a bounded
 * buffer: a subscriber that falls behind by more than it holds is ended with OVERFLOW (the client
 * is told) instead of slowing ingestion or the other subscribers, or silently missing events.
 */
export class EventBus {
  private readonly subscribers = new Set<Subscriber>();

  get size(): number {
    return this.subscribers.size;
  }

  publish(events: readonly AuditEvent[]): void {
    for (const subscriber of this.subscribers) {
      for (const event of events) if (subscriber.matches(event)) subscriber.push(event);
    }
  }

  subscribe(matches: (event: AuditEvent) => boolean, bufferSize: number): AsyncIterableIterator<LiveItem> {
    const queue: LiveItem[] = [];
    let waiting: ((result: IteratorResult<LiveItem>) => void) | null = null;
    let done = false;
    const subscribers = this.subscribers;

    const deliver = (item: LiveItem) => {
      if (waiting) {
        const resolve = waiting;
        waiting = null;
        resolve({ value: item, done: false });
      } else queue.push(item);
    };
    const finish = () => {
      done = true;
      subscribers.delete(subscriber);
    };
    const subscriber: Subscriber = {
      matches,
      push(event) {
        if (done) return;
        if (queue.length >= bufferSize) {
          finish();
          deliver(OVERFLOW);
          return;
        }
        deliver(event);
      },
    };
    subscribers.add(subscriber);

    const iterator: AsyncIterableIterator<LiveItem> = {
      next() {
        const item = queue.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (waiting = resolve));
      },
      return() {
        finish();
        queue.length = 0;
        if (waiting) waiting({ value: undefined, done: true });
        waiting = null;
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }
}
