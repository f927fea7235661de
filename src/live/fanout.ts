/**
 * A subscriber of a shared feed: it takes payloads that were produced (executed, serialised) once
 * for every member, and reports how many of those it has not flushed yet.
 */
export interface FeedMember<P> {
  /** Payloads written to this member and not yet flushed (handed to its socket's kernel buffer). */
  backlog(): number;
  write(payloads: readonly P[]): void;
  /** Ended alone: it was `limit` payloads behind. The feed goes on for the others. */
  tooSlow(): void;
  /** The feed's source ended (with its last payload written), or failed with `error`. */
  end(error?: unknown): void;
}

/**
 * Live feeds shared by every subscriber whose operation gives identical results: one source, one
 * execution and one serialisation per item, whatever the number of subscribers. What "identical"
 * means is the caller's key (for GraphQL: the document, its variables and what the caller may read).
 *
 * Payloads are written to the members once per turn of the event loop, all that arrived in it
 * together, so that a burst reaches each socket in one write (a large one in slices, see write()).
 * A member whose own backlog reached `limit` is ended with tooSlow() instead of being written to:
 * it never holds up the source or the other members, and it is told, so it never misses events
 * silently.
 */
export class Fanout<P> {
  private readonly feeds = new Map<string, SharedFeed<P>>();
  private solos = 0;
  /** Items taken from the feeds' sources: for GraphQL, one execution and one serialisation each. */
  executions = 0;

  constructor(readonly limit: number) {}

  /** Live subscriptions: the members of every feed, and the streams that are not shared. */
  get subscribers(): number {
    let members = this.solos;
    for (const feed of this.feeds.values()) members += feed.size;
    return members;
  }

  /** Shared feeds open now (each one source). */
  get size(): number {
    return this.feeds.size;
  }

  find(key: string): SharedFeed<P> | undefined {
    return this.feeds.get(key);
  }

  /** Starts a feed over `source` that subscribers with the same key join; it ends with its last member. */
  open(key: string, source: AsyncIterator<P>): SharedFeed<P> {
    if (this.feeds.has(key)) throw new Error('a feed with this key is already open');
    const feed: SharedFeed<P> = new SharedFeed(source, this, () => {
      if (this.feeds.get(key) === feed) this.feeds.delete(key);
    });
    this.feeds.set(key, feed);
    return feed;
  }

  /** Counts a stream that is not shared (a resumed subscription) among the subscribers while it runs. */
  solo<T>(stream: AsyncIterator<T>): AsyncIterableIterator<T> {
    this.solos++;
    let counted = true;
    const release = () => {
      if (counted) this.solos--;
      counted = false;
    };
    const iterator: AsyncIterableIterator<T> = {
      next: () =>
        stream.next().then(
          (result) => {
            if (result.done) release();
            return result;
          },
          (error: unknown) => {
            release();
            throw error;
          },
        ),
      return: (value?: unknown) => {
        release();
        return stream.return ? stream.return(value) : Promise.resolve({ value: undefined, done: true as const });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}

/** Deliveries (members × payloads) written in one go before the event loop gets a turn. */
const SLICE = 4096;

export class SharedFeed<P> {
  private readonly members = new Set<FeedMember<P>>();
  private batch: P[] = [];
  /** The next flush, or the next slice of the flush in progress. */
  private timer: NodeJS.Immediate | null = null;
  private writing = false;
  /** The source ended (with `error` when it failed): the members are told after what came before. */
  private ending: { error?: unknown } | null = null;
  private ended = false;
  private detached = false;

  constructor(
    private readonly source: AsyncIterator<P>,
    private readonly fanout: Fanout<P>,
    private readonly onDetach: () => void,
  ) {
    void this.pump();
  }

  get size(): number {
    return this.members.size;
  }

  /** Adds a member; the function returned takes it out again (the feed ends with its last member). */
  join(member: FeedMember<P>): () => void {
    if (this.ending || this.ended) throw new Error('this feed has ended');
    this.members.add(member);
    return () => this.leave(member);
  }

  private leave(member: FeedMember<P>): void {
    if (!this.members.delete(member) || this.members.size > 0 || this.ended) return;
    this.finish();
    // Nobody is left to read: the source (and its bus subscription) is closed.
    this.source.return?.().catch(() => undefined);
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        const result = await this.source.next();
        if (result.done || this.ended) break;
        this.fanout.executions++;
        this.batch.push(result.value);
        this.schedule();
      }
      this.ending = {};
    } catch (error) {
      this.ending = { error };
    }
    if (this.ended) return;
    // New subscribers open a feed of their own; these members get what is left, then the end.
    this.detach();
    this.schedule();
  }

  private schedule(): void {
    if (!this.writing) this.timer ??= setImmediate(() => this.flush());
  }

  private flush(): void {
    this.timer = null;
    if (this.ended) return;
    const payloads = this.batch;
    this.batch = [];
    if (payloads.length > 0) {
      this.writing = true;
      this.write(payloads, [...this.members], 0);
    } else if (this.ending) {
      const members = [...this.members];
      this.finish();
      for (const member of members) member.end(this.ending.error);
    }
  }

  /**
   * Writes the payloads to members[from…] a slice at a time, so that a large feed does not hold
   * the event loop (requests, the feed tail) for long. Each member gets every batch in order: the
   * next batch waits until this one reached everybody.
   */
  private write(payloads: P[], members: Array<FeedMember<P>>, from: number): void {
    this.timer = null;
    const to = Math.min(members.length, from + Math.max(1, Math.floor(SLICE / payloads.length)));
    for (let i = from; i < to && !this.ended; i++) {
      const member = members[i]!;
      if (!this.members.has(member)) continue; // left meanwhile
      if (member.backlog() < this.fanout.limit) {
        member.write(payloads);
        continue;
      }
      this.leave(member);
      member.tooSlow();
    }
    if (this.ended) return;
    if (to < members.length) {
      this.timer = setImmediate(() => this.write(payloads, members, to));
      return;
    }
    this.writing = false;
    if (this.batch.length > 0 || this.ending) this.schedule();
  }

  private finish(): void {
    this.ended = true;
    this.members.clear();
    if (this.timer) clearImmediate(this.timer);
    this.timer = null;
    this.batch = [];
    this.detach();
  }

  private detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.onDetach();
  }
}
