// A copy of a passt binary that passt's own uid can execute: setup builds it in the home dir (often under a 0700
// /root), and passt is exec'd after the uid change, so it runs from this user's private run dir instead.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, runDir } from '../../util/private-dir.js';

/**
 * `binary` as a path another uid can execute: a bare command name (found on PATH) as it is, an absolute path as a
 * 0755 copy in `<runDir>/bin/` keyed by the binary's identity (made once: temp file, then rename), inside a
 * directory only this user controls, so nobody can swap it.
 */
export function executableForOtherUid(binary: string): string {
  if (!path.isAbsolute(binary)) return binary;
  const st = fs.statSync(binary);
  const key = createHash('sha256').update(`${binary}\0${st.size}\0${st.mtimeMs}\0${st.ino}`).digest('hex').slice(0, 16);
  const dir = path.join(runDir(), 'bin');
  ensurePrivateDir(runDir(), 0o711);
  ensurePrivateDir(dir, 0o711);
  const copy = path.join(dir, `${path.basename(binary)}-${key}`);
  if (!fs.existsSync(copy)) {
    const tmp = `${copy}.tmp-${process.pid}`;
    fs.copyFileSync(binary, tmp);
    fs.chmodSync(tmp, 0o755);
    fs.renameSync(tmp, copy);
  }
  return copy;
}
