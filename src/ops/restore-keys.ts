// `kartei restore --keys SRC2`: a keys' backup (`kartei backup --keys`) back into an absent or
// empty key directory — never over keys. Its manifest must authenticate with the chain key the
// backup itself holds (the files were backed up together and not altered since), every file
// must match its size and SHA-256, and nothing unlisted may be there. The files are gathered in
// a staging directory beside the key directory and moved into place at once, so a crash never
// leaves a key directory with some keys and not others (a server would make the missing ones).
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, type Config } from '../config/config.ts';
import { CHAIN_KEY_FILE, chainKeyFromKeyDir } from '../audit/chain-key.ts';
import { hashFile } from './backup.ts';
import { KEYS_MANIFEST_FILE, listTree, ManifestError, readManifest, syncDir } from './backup-manifest.ts';
import { refusal } from '../config/refusal.ts'; // Issue 19: cli-german

export async function restoreKeys(config: Config, src: string): Promise<{ files: number; keyDir: string }> {
  const dir = path.resolve(src);
  if (!fs.existsSync(path.join(dir, CHAIN_KEY_FILE)) || !fs.existsSync(path.join(dir, KEYS_MANIFEST_FILE)))
    throw new ManifestError(
      `${dir} is not a complete Kartei keys' backup (no ${CHAIN_KEY_FILE} or manifest)`,
      refusal('keys-backup-incomplete', { dir, file: CHAIN_KEY_FILE }),
    );
  const { manifest } = readManifest(dir, 'keys', chainKeyFromKeyDir(dir, {}).key);
  const listed = new Set(manifest.files.map((f) => f.path));
  const present = listTree(dir).filter((f) => f !== KEYS_MANIFEST_FILE);
  if (present.length !== listed.size || present.some((f) => !listed.has(f)))
    throw new ManifestError(
      "the keys' backup holds other files than its manifest lists",
      refusal('keys-backup-extra-files'),
    );
  for (const f of manifest.files) {
    const got = await hashFile(path.join(dir, f.path));
    if (got.size !== f.size || got.sha256 !== f.sha256)
      throw new ManifestError(
        `${f.path} in the keys' backup does not match its manifest`,
        refusal('keys-backup-file-differs', { path: f.path }),
      );
  }
  const target = config.keyDir;
  const exists = fs.existsSync(target);
  if (exists && (!fs.statSync(target).isDirectory() || fs.readdirSync(target).length > 0))
    throw new ConfigError(
      `the key directory ${target} is not empty; a restore never writes over keys`,
      refusal('restore-key-dir-not-empty', { keyDir: target }),
    );
  const staging = `${target}.restoring-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { mode: 0o700 });
  try {
    for (const f of manifest.files) {
      const to = path.join(staging, f.path);
      fs.mkdirSync(path.dirname(to), { recursive: true, mode: 0o700 });
      fs.copyFileSync(path.join(dir, f.path), to, fs.constants.COPYFILE_EXCL);
      fs.chmodSync(to, 0o600);
      const fd = fs.openSync(to, 'r');
      fs.fsyncSync(fd);
      fs.closeSync(fd);
    }
    syncDir(staging);
    if (exists) {
      // An empty key directory (perhaps a mount point): the files move in one by one, the master key last.
      const order = listTree(staging).sort((a, b) => Number(a === 'master.key') - Number(b === 'master.key'));
      for (const rel of order) {
        fs.mkdirSync(path.dirname(path.join(target, rel)), { recursive: true, mode: 0o700 });
        fs.renameSync(path.join(staging, rel), path.join(target, rel));
      }
      fs.rmSync(staging, { recursive: true, force: true });
      fs.chmodSync(target, 0o700);
      syncDir(target);
    } else fs.renameSync(staging, target);
    syncDir(path.dirname(target));
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  return { files: manifest.files.length, keyDir: target };
}
