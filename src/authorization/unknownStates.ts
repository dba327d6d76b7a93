import type { Clock, Logger } from '../credentials/index.js';

/**
 * Callbacks naming a state we never issued are not stored (anyone can send them, as fast as they like): they are
 * counted, and logged at most once per interval with the number of lines suppressed since the last one.
 */
export class UnknownStateLog {
  /** Every such callback this process has refused. */
  total = 0;
  private suppressed = 0;
  private lastLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs = 1_000,
  ) {}

  note(logger: Logger, reason: string): void {
    this.total++;
    const now = this.clock.now().getTime();
    if (now - this.lastLoggedAt < this.intervalMs) {
      this.suppressed++;
      return;
    }
    logger.warn('authorization callback refused: its state was never issued (not recorded)', {
      reason,
      suppressedSinceLastLine: this.suppressed,
      totalRefused: this.total,
    });
    this.lastLoggedAt = now;
    this.suppressed = 0;
  }
}
