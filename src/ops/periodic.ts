import type { Logger } from '../logger.js';

/**
 * Runs `work` every `intervalMs`, never two at once (a run still going skips the tick), and logs a
 * failure instead of throwing it. The timer does not keep the process alive; stop() waits for the
 * run in progress.
 */
export class Periodic {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly work: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly failure: string,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.work()
        .catch((error: unknown) => this.logger.error({ err: error }, this.failure))
        .finally(() => (this.running = null));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
