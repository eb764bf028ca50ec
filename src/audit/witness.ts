// The chain heads last signed, kept in the key directory as well as in the
// database. An attacker who can rewrite the database but not the key
// directory can then neither drop nor rewrite events up to those heads, even
// after deleting the checkpoint rows. Checkpoints the server refused to sign
// (the chain did not verify) are recorded here too, for `kartei doctor`,
// until a later checkpoint of that chain verifies and is signed. Each head
// names the key that signed it, so after a rotation `audit verify` can tell a
// checkpoint re-signed there by another (a retired, perhaps stolen) key.
import fs from 'node:fs';

export interface WitnessedHead {
  seq: number;
  hash: string;
  at: string;
  /** The key that signed the checkpoint at this head (issue 19; absent in witness files written before). */
  keyId?: string;
}

/** A checkpoint not signed because the events since the last one did not verify. */
export interface Refusal {
  /** The first sequence number that did not hold. */
  seq: number;
  problem: string;
  at: string;
}

interface WitnessFile {
  chains: Record<string, WitnessedHead>;
  refused?: Record<string, Refusal>;
}

export class Witness {
  readonly file: string;
  constructor(file: string) {
    this.file = file;
  }

  read(): Record<string, WitnessedHead> {
    return this.load().chains;
  }

  refusals(): Record<string, Refusal> {
    return this.load().refused ?? {};
  }

  /** Records newer heads; a head never moves backwards. A signed head clears its chain's refusal. */
  record(heads: Record<string, WitnessedHead>): void {
    const f = this.load();
    for (const [id, h] of Object.entries(heads)) {
      if (!f.chains[id] || f.chains[id].seq < h.seq) f.chains[id] = h;
      if (f.refused) delete f.refused[id];
    }
    this.save(f);
  }

  refuse(chainId: string, r: Refusal): void {
    const f = this.load();
    f.refused = { ...f.refused, [chainId]: r };
    this.save(f);
  }

  private load(): WitnessFile {
    if (!fs.existsSync(this.file)) return { chains: {} };
    const f = JSON.parse(fs.readFileSync(this.file, 'utf8')) as Partial<WitnessFile>;
    return { chains: f.chains ?? {}, ...(f.refused ? { refused: f.refused } : {}) };
  }

  /** Written atomically. */
  private save(f: WitnessFile): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(f, null, 1), { mode: 0o600 });
    fs.renameSync(tmp, this.file);
  }
}
