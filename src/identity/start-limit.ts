// Bounds what anonymous callers can make the server keep: a sliding window of
// starts per address (a person needs a few sign-on starts in ten minutes, a
// flood thousands), and a ceiling on everything open at once, so rotating
// addresses cannot fill the database either. In memory: one server process.
import { KarteiError } from '../errors.ts';

export class StartLimit {
  readonly #byAddress = new Map<string, number[]>();

  readonly perAddress: number;
  readonly windowMs: number;
  constructor(
    perAddress: number,
    windowMs: number,
  ) {
    this.perAddress = perAddress;
    this.windowMs = windowMs;
  }

  /** Counts a start from `address` at `now`; beyond the window's allowance, 429 with Retry-After. */
  claim(address: string, now: number): void {
    const since = now - this.windowMs;
    const times = (this.#byAddress.get(address) ?? []).filter((t) => t > since);
    if (times.length >= this.perAddress) {
      this.#byAddress.set(address, times);
      const retryAfter = Math.max(1, Math.ceil((times[0]! + this.windowMs - now) / 1000));
      throw new KarteiError('rate-limited', 'Too many sign-on starts from this address', { retryAfter }, { 'retry-after': String(retryAfter) });
    }
    times.push(now);
    this.#byAddress.set(address, times);
    if (this.#byAddress.size > 10_000) this.#forgetOld(since);
  }

  #forgetOld(since: number): void {
    for (const [address, times] of this.#byAddress) if (!times.some((t) => t > since)) this.#byAddress.delete(address);
  }
}
