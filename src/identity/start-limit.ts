// Bounds what anonymous callers can make the server keep: a sliding window of
// starts per address (a person needs a few sign-on starts in ten minutes, a
// flood thousands), and a ceiling on everything open at once, so rotating
// addresses cannot fill the database either. In memory: one server process.
import { KarteiError } from '../errors.ts';

/** Addresses remembered at most; beyond it the memory stays bounded and the office's ceiling still holds. */
const MAX_ADDRESSES = 10_000;

export class StartLimit {
  readonly #byAddress = new Map<string, number[]>();

  readonly perAddress: number;
  readonly windowMs: number;
  constructor(perAddress: number, windowMs: number) {
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
      throw new KarteiError(
        'rate-limited',
        'Too many sign-on starts from this address',
        { retryAfter },
        { 'retry-after': String(retryAfter) },
      );
    }
    times.push(now);
    // Re-inserted, so the map's order is the order addresses were last seen.
    this.#byAddress.delete(address);
    this.#byAddress.set(address, times);
    if (this.#byAddress.size > MAX_ADDRESSES) this.#forget(since);
  }

  /** Drops addresses with no start in the window, then, should rotating addresses still fill it, the longest unseen. */
  #forget(since: number): void {
    for (const [address, times] of this.#byAddress) if (!times.some((t) => t > since)) this.#byAddress.delete(address);
    for (const address of this.#byAddress.keys()) {
      if (this.#byAddress.size <= MAX_ADDRESSES / 2) break;
      this.#byAddress.delete(address);
    }
  }
}
