import type { Clock, TimerHandle } from './clock.js';

/**
 * Many deadlines that all share one delay (ping interval, pong timeout, connect timeout), on one
 * clock timer instead of one Node `Timeout` and closure per owner.
 *
 * Contract: `schedule(item)` fires `fire(item)` once, `delayMs` after the call (never earlier),
 * unless `cancel` is called with the returned ticket first. Items fire in scheduling order. A
 * ticket is a positive number; cancelling a ticket that already fired or was cancelled does
 * nothing, so owners may keep stale tickets. A cancelled item is released at once (the slot is
 * cleared), not when its deadline passes.
 *
 * Because the delay is fixed, scheduling order is deadline order: the queue is a FIFO (an array
 * with a moving head), O(1) to schedule, cancel and fire, and about two array slots per pending
 * deadline.
 */
export class FixedDelayQueue<T> {
  readonly #clock: Clock;
  readonly #delayMs: number;
  readonly #fire: (item: T) => void;
  #items: Array<T | undefined> = [];
  #dues: number[] = [];
  #head = 0;
  /** The ticket of `#items[#head]`: tickets are consecutive, so a ticket maps to its slot. */
  #headTicket = 1;
  #timer: TimerHandle | undefined;
  #running = false;
  readonly #onTimer = () => this.#run();

  constructor(clock: Clock, delayMs: number, fire: (item: T) => void) {
    this.#clock = clock;
    this.#delayMs = Math.max(1, delayMs);
    this.#fire = fire;
  }

  /** Entries still in the queue, cancelled ones included until the head passes them. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  schedule(item: T): number {
    const ticket = this.#headTicket + this.#items.length - this.#head;
    this.#items.push(item);
    this.#dues.push(this.#now() + this.#delayMs);
    if (this.#timer === undefined && !this.#running) this.#arm();
    return ticket;
  }

  cancel(ticket: number): void {
    const index = this.#head + ticket - this.#headTicket;
    if (ticket >= this.#headTicket && index < this.#items.length) this.#items[index] = undefined;
  }

  #now(): number {
    return this.#clock.monotonic?.() ?? this.#clock.now();
  }

  #arm(): void {
    this.#skipCancelled();
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#dues.length = 0;
      this.#head = 0;
      return;
    }
    const wait = Math.max(0, this.#dues[this.#head]! - this.#now());
    this.#timer = this.#clock.setTimeout(this.#onTimer, wait);
  }

  #skipCancelled(): void {
    while (this.#head < this.#items.length && this.#items[this.#head] === undefined) this.#advance();
  }

  #advance(): void {
    this.#head++;
    this.#headTicket++;
  }

  #run(): void {
    this.#timer = undefined;
    const now = this.#now();
    // Items scheduled by a fire callback are due a full delay later, so `end` bounds the loop.
    const end = this.#items.length;
    this.#running = true;
    try {
      while (this.#head < end && this.#dues[this.#head]! <= now) {
        const item = this.#items[this.#head];
        this.#items[this.#head] = undefined;
        this.#advance();
        if (item !== undefined) this.#fire(item);
      }
    } finally {
      this.#running = false;
      this.#compact();
      this.#arm();
    }
  }

  /** Drops the fired prefix once it is most of the array, so memory follows pending deadlines. */
  #compact(): void {
    if (this.#head < 1024 || this.#head * 2 < this.#items.length) return;
    this.#items.splice(0, this.#head);
    this.#dues.splice(0, this.#head);
    this.#head = 0;
  }
}
