// Reading a stored instance waits on the disk (open, read, close on the
// thread pool) while the event loop has nothing else to do for that request.
// Started early, the next instance's first chunk is read and decrypted while
// the one before is still being sent.

/** An async source read one chunk ahead of its consumer, once started. */
export class ReadAhead implements AsyncIterable<Buffer> {
  private readonly it: AsyncIterator<Buffer>;
  private pending: Promise<IteratorResult<Buffer>> | undefined;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  start() {
    if (this.pending) return;
    this.pending = this.it.next();
    // A failure is raised where the chunk is consumed.
    this.pending.catch(() => {});
  }

  async *[Symbol.asyncIterator]() {
    for (;;) {
      this.start();
      const r = await this.pending!;
      this.pending = undefined;
      if (r.done) return;
      this.start();
      yield r.value;
    }
  }

  /** Ends the source (closing what it opened), after the read in flight. */
  async stop() {
    await this.pending?.catch(() => {});
    await this.it.return?.();
  }
}
