// The chain heads last signed, kept in the key directory as well as in the
// database. An attacker who can rewrite the database but not the key
// directory can then neither drop nor rewrite events up to those heads, even
// after deleting the checkpoint rows.
import fs from 'node:fs';

export interface WitnessedHead {
  seq: number;
  hash: string;
  at: string;
}

export class Witness {
  constructor(readonly file: string) {}

  read(): Record<string, WitnessedHead> {
    if (!fs.existsSync(this.file)) return {};
    return JSON.parse(fs.readFileSync(this.file, 'utf8')).chains ?? {};
  }

  /** Records newer heads; a head never moves backwards. Written atomically. */
  record(heads: Record<string, WitnessedHead>): void {
    const chains = this.read();
    for (const [id, h] of Object.entries(heads)) if (!chains[id] || chains[id].seq < h.seq) chains[id] = h;
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ chains }, null, 1), { mode: 0o600 });
    fs.renameSync(tmp, this.file);
  }
}
