import type { IncomingMessage, ServerResponse } from 'node:http';

/** Counts the HTTP requests in flight so that a stop can wait for them, and refuses new ones once stopping. */
export class Drain {
  private inFlight = 0;
  private idle: Array<() => void> = [];
  stopping = false;

  get active(): number {
    return this.inFlight;
  }

  /** Call at the start of every request; returns false (and answers 503) when the server is stopping. */
  admit(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.stopping) {
      res.shouldKeepAlive = false;
      res
        .writeHead(503, { 'content-type': 'application/json', connection: 'close', 'retry-after': '1' })
        .end(JSON.stringify({ errors: [{ message: 'The server is shutting down; retry (on another instance).', extensions: { code: 'SHUTTING_DOWN', retryable: true } }] }));
      req.resume();
      return false;
    }
    this.inFlight++;
    res.once('close', () => {
      this.inFlight--;
      if (this.inFlight === 0) this.idle.splice(0).forEach((resolve) => resolve());
    });
    return true;
  }

  /** Resolves true once no request is in flight, false if `ms` passed first. */
  waitIdle(ms: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
