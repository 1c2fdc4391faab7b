// Whiteouts: `.wh.<name>` deletes a path of the layers below; `.wh..wh..opq` empties a directory of them.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { SafeRoot } from './safe-root.js';

/** The prefix that marks a whiteout file. */
export const WHITEOUT_PREFIX = '.wh.';
/** The name that marks a directory as opaque. */
export const OPAQUE = '.wh..wh..opq';

/** Deletes `rel` (whatever it is, never following symlinks) for a `.wh.` entry. */
export async function applyWhiteout(safe: SafeRoot, rel: string, name: string): Promise<void> {
  await safe.prepareParents(rel, name);
  await fs.rm(safe.abs(rel), { recursive: true, force: true });
  safe.forget(rel);
}

/**
 * Empties the opaque directory `dirRel` of everything that did not come from the current layer (`written` holds the
 * relative paths this layer has written so far; paths written later in the layer are unaffected).
 */
export async function applyOpaque(safe: SafeRoot, dirRel: string, written: ReadonlySet<string>, name: string): Promise<void> {
  const dir = await safe.prepareParents(dirRel === '' ? '' : `${dirRel}/x`, name).then(() => safe.abs(dirRel));
  const st = await fs.lstat(dir).catch(() => undefined);
  if (!st?.isDirectory()) return;
  const keepPrefix = (rel: string): boolean => {
    for (const w of written) if (w.startsWith(`${rel}/`)) return true;
    return false;
  };
  const sweep = async (rel: string): Promise<void> => {
    for (const entry of await fs.readdir(safe.abs(rel), { withFileTypes: true })) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (written.has(child) && !entry.isDirectory()) continue;
      if (entry.isDirectory() && (written.has(child) || keepPrefix(child))) {
        await sweep(child);
        continue;
      }
      await fs.rm(path.join(safe.root, child), { recursive: true, force: true });
      safe.forget(child);
    }
  };
  await sweep(dirRel);
}
