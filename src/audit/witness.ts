// The chain heads last signed, kept in the key directory as well as in the
// database. An attacker who can rewrite the database but not the key
// directory can then neither drop nor rewrite events up to those heads, even
// after deleting the checkpoint rows. Checkpoints the server refused to sign
// (the chain did not verify) are recorded here too, for `kartei doctor`,
// until a later checkpoint of that chain verifies and is signed. Each head
// names the key that signed it, so after a rotation `audit verify` can tell a
// checkpoint re-signed there by another (a retired, perhaps stolen) key.
// Issue 19: instances — several servers may share one key directory (a shared mount): each write
// goes through a temporary file of its own name (host, pid and a random part: two hosts may run the
// same pid), synced with its directory before and after the rename. Heads are recorded only inside a
// checkpoint round, which holds the round's advisory lock on PostgreSQL, so two instances never
// read-modify-write the file at once; heads never move backwards either way. Where each instance has
// its own copy of the key directory, each copy witnesses the rounds its instance runs (a round records
// the heads another instance signed before it too); `kartei doctor` says when a copy falls behind.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { refusal } from '../config/refusal.ts';
import { KeyFileError, keyFileJson } from '../vault/key-file.ts';

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
    // s24-review: damaged, refused naming the file only (JSON.parse's error quoted it, Node showed its first line).
    const f = keyFileJson<WitnessFile>(fs.readFileSync(this.file, 'utf8'));
    if (!f)
      throw new KeyFileError(
        `Refusing ${this.file}: it is not a Kartei audit witness (damaged?); restore the key directory from its backup`,
        refusal('witness-invalid', { file: this.file }),
      );
    return { chains: f.chains ?? {}, ...(f.refused ? { refused: f.refused } : {}) };
  }

  /** Written atomically and durably, under a temporary name no other writer uses. */
  private save(f: WitnessFile): void {
    const tmp = `${this.file}.${os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(f, null, 1));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.renameSync(tmp, this.file);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    const dir = fs.openSync(path.dirname(this.file), 'r');
    try {
      fs.fsyncSync(dir);
    } finally {
      fs.closeSync(dir);
    }
  }
}
