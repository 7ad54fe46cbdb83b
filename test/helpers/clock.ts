import type { Clock } from '../../src/infra/clock.js';

/** A clock the test moves by hand: expiry and cooldowns without sleeping. */
export class TestClock implements Clock {
  private current: number;

  constructor(start = Date.now()) {
    this.current = start;
  }

  now(): Date {
    return new Date(this.current);
  }

  advance(ms: number): void {
    this.current += ms;
  }
}
