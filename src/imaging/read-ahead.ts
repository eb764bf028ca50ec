// Reading a stored instance waits on the disk (open, read, close on the
// thread pool) while the event loop has nothing else to do for that request.
// Started early, the next instance is read and decrypted while the one before
// is still being sent, or (C-GET, C-MOVE) while its response is awaited.

/** How far ahead of its consumer a source is read: a whole CT instance and then some. */
const AHEAD_BYTES = 1024 * 1024;

/** An async source read ahead of its consumer, up to AHEAD_BYTES, once started. */
export class ReadAhead implements AsyncIterable<Buffer> {
  private readonly it: AsyncIterator<Buffer>;
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private reading: Promise<void> | undefined;
  private ended = false;
  private failure: { error: unknown } | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** Reads on until AHEAD_BYTES wait for the consumer, the source ends or fails, or `stop`. */
  start() {
    if (this.reading || this.ended || this.failure || this.stopped || this.queued >= AHEAD_BYTES) return;
    this.reading = this.it.next().then(
      (r) => {
        if (r.done) this.ended = true;
        else {
          this.queue.push(r.value);
          this.queued += r.value.length;
        }
      },
      // Raised where the consumer reaches it, after the chunks read before it.
      (error: unknown) => {
        this.failure = { error };
      },
    );
    void this.reading.then(() => {
      this.reading = undefined;
      this.wake?.();
      this.start();
    });
  }

  /**
   * The next chunk read ahead, without waiting for one: the chunk, `'wait'` when none is read yet
   * (`ready` tells when to ask again) or `'end'`. The source's failure is thrown here, after the
   * chunks read before it.
   */
  take(): Buffer | 'wait' | 'end' {
    this.start();
    const chunk = this.queue.shift();
    if (chunk) {
      this.queued -= chunk.length;
      this.start();
      return chunk;
    }
    if (this.failure) throw this.failure.error;
    return this.ended ? 'end' : 'wait';
  }

  /** Resolves once the read in flight has finished (`take` then has something new to say). */
  ready(): Promise<void> {
    return new Promise<void>((resolve) => (this.wake = resolve));
  }

  async *[Symbol.asyncIterator]() {
    for (;;) {
      const next = this.take();
      if (next === 'end') return;
      if (next === 'wait') await this.ready();
      else yield next;
    }
  }

  /** Takes every chunk read ahead and not yet taken, for a consumer that will take nothing more: no read starts after. */
  drop(): Buffer[] {
    this.stopped = true;
    const dropped = this.queue.splice(0);
    this.queued = 0;
    return dropped;
  }

  /** Ends the source (closing what it opened), after the read in flight. */
  async stop() {
    this.stopped = true;
    await this.reading;
    await this.it.return?.();
  }
}
