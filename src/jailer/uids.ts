// The host uids jailed boxes run as: one per box from a reserved range, claimed host-wide so no two boxes share one.
//
// A claim is a file `/run/boxlite/uids/<uid>` naming the home dir and box that hold it. It is taken when the box
// starts (the same uid again if the box had one and nobody took it since) and given back when the box is removed.
// A claim whose box directory is gone (a home deleted by hand) is stale and may be taken. Claims live in /run
// (emptied at boot): the database keeps each box's uid, and the next start claims it again.
import fs from 'node:fs';
import path from 'node:path';
import { boxliteError } from '../errors.js';
import { withFileLock } from '../util/file-lock.js';

/** The first uid of the range (0x78000000, above the ranges systemd and container tools hand out). */
export const JAIL_UID_BASE = 2_013_265_920;
/** How many uids the range holds. */
export const JAIL_UID_COUNT = 65_536;
/** The uid template VMs (snapshots being made, which run only our agent) are jailed as. */
export const TEMPLATE_UID = JAIL_UID_BASE;
/** Where claims are kept. */
export const CLAIMS_DIR = '/run/boxlite/uids';

interface Claim {
  home: string;
  box: string;
}

/** Whether `uid` is one of the range's box uids. */
export function isJailUid(uid: number): boolean {
  return Number.isInteger(uid) && uid > JAIL_UID_BASE && uid < JAIL_UID_BASE + JAIL_UID_COUNT;
}

/**
 * Claims a uid for box `boxId` of `homeDir`: `preferred` when it is free or already this box's, else the first free
 * one after a starting point derived from the box id. Throws Config when the range is full.
 */
export async function claimJailUid(homeDir: string, boxId: string, preferred?: number): Promise<number> {
  fs.mkdirSync(CLAIMS_DIR, { recursive: true, mode: 0o700 });
  return withFileLock(`${CLAIMS_DIR}.lock`, async () => {
    const mine: Claim = { home: path.resolve(homeDir), box: boxId };
    const start = preferred !== undefined && isJailUid(preferred) ? preferred - JAIL_UID_BASE : 1 + (hash(boxId) % (JAIL_UID_COUNT - 1));
    for (let i = 0; i < JAIL_UID_COUNT - 1; i++) {
      const uid = JAIL_UID_BASE + 1 + ((start - 1 + i) % (JAIL_UID_COUNT - 1));
      const file = path.join(CLAIMS_DIR, String(uid));
      const held = readClaim(file);
      if (held && !(held.home === mine.home && held.box === mine.box) && !isStale(held)) continue;
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(mine), { mode: 0o600 });
      fs.renameSync(`${file}.tmp`, file);
      return uid;
    }
    throw boxliteError('Config', `no free jail uid is left in ${JAIL_UID_BASE}..${JAIL_UID_BASE + JAIL_UID_COUNT - 1} (${CLAIMS_DIR}); remove boxes you no longer need`);
  });
}

/** Gives back the uid of a removed box (if the claim is still that box's). */
export function releaseJailUid(homeDir: string, boxId: string, uid: number): void {
  if (!isJailUid(uid)) return;
  const file = path.join(CLAIMS_DIR, String(uid));
  const held = readClaim(file);
  if (held && held.home === path.resolve(homeDir) && held.box === boxId) fs.rmSync(file, { force: true });
}

function readClaim(file: string): Claim | undefined {
  try {
    const c = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Claim>;
    return typeof c.home === 'string' && typeof c.box === 'string' ? { home: c.home, box: c.box } : undefined;
  } catch {
    return undefined;
  }
}

// A claim whose box no longer has a directory: its home was deleted without removing the box.
function isStale(c: Claim): boolean {
  return !fs.existsSync(path.join(c.home, 'boxes', c.box));
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}
