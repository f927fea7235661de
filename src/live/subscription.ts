import type { Db } from '../db/client.js';
import type { AuditEvent } from '../audit/model.js';
import { committedEventsAfter, comparePositions, type FeedPosition } from '../history/committed-feed.js';
import { OVERFLOW, type EventBus, type LiveItem } from './event-bus.js';

const REPLAY_PAGE = 500;

/**
 * A live feed of the events that match, optionally resumed after a feed position: first the stored
 * events after it (in commit order), then the live ones, with nothing missed and nothing twice at
 * the seam. It joins the live feed before replaying, and skips live events the replay already gave.
 */
export function subscribeToEvents(
  db: Db,
  bus: EventBus,
  matches: (event: AuditEvent) => boolean,
  bufferSize: number,
  after: FeedPosition | null,
): AsyncIterableIterator<LiveItem> {
  const live = bus.subscribe(matches, bufferSize);
  if (!after) return live;
  let last = after;
  let replayDone = false;
  const replayed: AuditEvent[] = [];

  const iterator: AsyncIterableIterator<LiveItem> = {
    async next() {
      while (replayed.length === 0 && !replayDone) {
        const page = await committedEventsAfter(db, last, REPLAY_PAGE);
        replayed.push(...page.events.filter(matches));
        if (page.last) last = page.last;
        replayDone = page.events.length < REPLAY_PAGE;
      }
      const next = replayed.shift();
      if (next) return { value: next, done: false };
      for (;;) {
        const result = await live.next();
        if (result.done || result.value === OVERFLOW || comparePositions(result.value.position, last) > 0) return result;
      }
    },
    return() {
      replayDone = true;
      replayed.length = 0;
      return live.return!();
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
