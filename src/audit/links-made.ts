// The links this process made since each chain's last checkpoint (issue 18): for every event it
// appended, what the link was computed over and the link. Before a checkpoint is signed, every event
// since the last one is verified (`verify-tail.ts`); an event whose row, as stored now, gives exactly
// the material this process linked has that link, so its HMAC is not computed a second time (~2 µs of
// every audited request's main thread). A row that differs — altered, another process's event, or
// an event whose append was rolled back and its sequence number used again — is linked anew, as
// before. Held in this process's memory only, which holds the chain key anyway; bounded per chain.

interface Made {
  material: string;
  hash: string;
}

export class LinksMade {
  private readonly chains = new Map<string, Map<number, Made>>();
  /** At most this many per chain (a chain whose checkpoints are refused keeps growing): the oldest go first. */
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  /** This process linked the event at `seq` of `chainId` over `material`, giving `hash`. */
  made(chainId: string, seq: number, material: string, hash: string): void {
    const chain = this.chains.get(chainId) ?? new Map<number, Made>();
    this.chains.set(chainId, chain);
    chain.delete(seq);
    chain.set(seq, { material, hash });
    if (chain.size > this.max) chain.delete(chain.keys().next().value!);
  }

  /** The link this process made over exactly `material` at `seq`; undefined if it made none over it. */
  linkOf(chainId: string, seq: number, material: string): string | undefined {
    const e = this.chains.get(chainId)?.get(seq);
    return e !== undefined && e.material === material ? e.hash : undefined;
  }

  /** A checkpoint signed the chain up to `seq`: those links are verified and signed, and need not be kept. */
  signedUpTo(chainId: string, seq: number): void {
    const chain = this.chains.get(chainId);
    if (!chain) return;
    for (const s of chain.keys()) if (s <= seq) chain.delete(s);
    if (chain.size === 0) this.chains.delete(chainId);
  }

  /** How many links are kept for `chainId` (tests). */
  size(chainId: string): number {
    return this.chains.get(chainId)?.size ?? 0;
  }
}
