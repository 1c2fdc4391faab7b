// A box's jail at start: its uid (claimed), its cgroup (made), its jail directories; and taking them down again.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { boxliteError } from '../errors.js';
import { chrootBaseOf, SecurityOptions } from '../runtime/security.js';
import { boxCgroupLimits, boxCgroupNames, cgroupDirs, createBoxCgroup, removeCgroupDirs } from './cgroups.js';
import type { BoxJail } from './plan.js';
import { claimJailUid, releaseJailUid, TEMPLATE_UID } from './uids.js';

/** What is kept of a box's jail in its row (`jail_json`), to show it and to take it down from any process. */
export interface JailRecord {
  /** The uid and gid its QEMU and passt run as (undefined: this process's own, an ordinary user's). */
  uid?: number;
  gid?: number;
  /** Its cgroup directories, or why it has none. */
  cgroups: string[];
  cgroupUnavailable?: string;
  /** Its jail directory (an empty mount point on the host). */
  root: string;
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** The cgroup name of a box: the home's hash and the box id, unique on the host. */
export function cgroupName(homeDir: string, boxId: string): string {
  return `${crypto.createHash('sha256').update(path.resolve(homeDir)).digest('hex').slice(0, 12)}-${boxId}`;
}

/**
 * Prepares the jail of a box about to start, or undefined when its jailer is off. `previousUid` is the uid of
 * its last start (kept when still free). Config error naming what is missing when a protection asked for cannot
 * be had here (another uid as an ordinary user, no user namespaces), with the way out.
 */
export async function prepareBoxJail(req: {
  homeDir: string; boxId: string; security: SecurityOptions; memoryMib: number; cpus: number; tcg: boolean; previousUid?: number; parentPid?: number;
}): Promise<{ jail: BoxJail; record: JailRecord } | undefined> {
  const s = req.security;
  if (!s.jailerEnabled) return undefined;
  checkUnprivileged(s);
  let uid: number | undefined;
  let gid: number | undefined;
  if (isRoot()) {
    uid = s.uid ?? await claimJailUid(req.homeDir, req.boxId, req.previousUid);
    gid = s.gid ?? uid;
  }
  const root = path.join(chrootBaseOf(s, req.homeDir), req.boxId);
  makeJailDirs(root);
  const cgroup = createBoxCgroup(cgroupName(req.homeDir, req.boxId), boxCgroupLimits(req.memoryMib, req.cpus, req.tcg));
  const record: JailRecord = {
    ...(uid !== undefined ? { uid, gid } : {}), root,
    ...('dirs' in cgroup ? { cgroups: cgroup.dirs } : { cgroups: [], cgroupUnavailable: cgroup.unavailable }),
  };
  return { jail: { policy: s, uid, gid, root, cgroups: record.cgroups, ...(req.parentPid !== undefined ? { parentPid: req.parentPid } : {}) }, record };
}

/** The jail of a template VM (a snapshot being made: only our agent runs in it): standard, as TEMPLATE_UID. */
export function templateJail(homeDir: string, key: string): BoxJail | undefined {
  const policy = SecurityOptions.standard();
  try {
    checkUnprivileged(policy);
  } catch {
    return undefined; // no user namespaces for an ordinary user: template VMs run unjailed, as development boxes do
  }
  const root = path.join(chrootBaseOf(policy, homeDir), `template-${key}`);
  makeJailDirs(root);
  return { policy, ...(isRoot() ? { uid: TEMPLATE_UID, gid: TEMPLATE_UID } : {}), root, cgroups: [] };
}

/** Ends a box's cgroup once its processes are gone (at stop). */
export function releaseCgroup(record: JailRecord | undefined): void {
  if (record?.cgroups.length) removeCgroupDirs(record.cgroups);
}

/** Takes down all of a removed box's jail: cgroup, jail directories, and its uid's claim. */
export function releaseBoxJail(homeDir: string, boxId: string, record: JailRecord | undefined): void {
  if (!record) return;
  releaseCgroup(record);
  for (const d of [record.root, `${record.root}.net`]) fs.rmSync(d, { recursive: true, force: true });
  if (record.uid !== undefined) releaseJailUid(homeDir, boxId, record.uid);
}

/**
 * Recovery: removes what jails of `homeDir` left behind for boxes that are gone or not running (their process
 * died without cleaning up): cgroups under this process's own, and jail directories under the default chroot base.
 * `box.sweepIfIdle(boxId, sweep)` runs `sweep` only while the box is gone or idle, holding its lock, so that no
 * start can begin halfway through; `box.isGone(boxId)` says it has no row. Returns what was removed.
 */
export function sweepJails(homeDir: string, box: { sweepIfIdle(boxId: string, sweep: () => void): boolean; isGone(boxId: string): boolean }): string[] {
  const removed: string[] = [];
  const prefix = `${cgroupName(homeDir, '')}`;
  for (const name of boxCgroupNames()) {
    if (!name.startsWith(prefix)) continue;
    box.sweepIfIdle(name.slice(prefix.length), () => {
      const dirs = cgroupDirs(name) ?? [];
      if (removeCgroupDirs(dirs, 0).length === 0) removed.push(...dirs);
    });
  }
  const jails = path.join(homeDir, 'jails');
  let entries: string[] = [];
  try { entries = fs.readdirSync(jails); } catch { /* none yet */ }
  for (const entry of entries) {
    const id = entry.replace(/\.net$/, '');
    const old = Date.now() - (fs.statSync(path.join(jails, entry), { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 600_000;
    if (id.startsWith('template-') ? !old : !box.isGone(id)) continue;
    fs.rmSync(path.join(jails, entry), { recursive: true, force: true });
    removed.push(path.join(jails, entry));
  }
  return removed;
}

/**
 * Without a chroot, a box's QEMU and passt (the box's uid) open its files where they are: every directory above
 * them must let others pass. Config error naming the first one that does not, with the way out.
 */
export function checkReachableWithoutJail(jail: BoxJail, files: readonly string[]): void {
  if (jail.policy.chrootEnabled || jail.uid === undefined) return;
  for (const file of files) {
    for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
      const st = fs.statSync(dir, { throwIfNoEntry: false });
      if (st && (st.mode & 0o001) === 0 && st.uid !== jail.uid) {
        throw boxliteError('Config', `security.chrootEnabled is false, so the box's VMM (uid ${jail.uid}) must open ${file} in place, but ${dir} does not let other users pass (mode ${(st.mode & 0o777).toString(8)}); turn chrootEnabled on (the default), or use a home dir every directory above which others may traverse`);
      }
      if (dir === path.dirname(dir)) break;
    }
  }
}

/** The jail directories (VMM and network), empty: each becomes a mount point in the process's own namespace. */
function makeJailDirs(root: string): void {
  for (const d of [root, `${root}.net`]) {
    fs.mkdirSync(d, { recursive: true, mode: 0o700 });
    if (fs.readdirSync(d).length > 0) throw boxliteError('Config', `the jail directory ${d} is not empty (a jail is an empty mount point); remove what is in it`);
  }
}

// Protections that need root, or user namespaces, checked before anything starts.
function checkUnprivileged(s: SecurityOptions): void {
  if (isRoot()) return;
  const me = process.getuid?.();
  if ((s.uid !== undefined && s.uid !== me) || (s.gid !== undefined && s.gid !== process.getgid?.())) {
    throw boxliteError('Config', `security.uid/gid ${s.uid}/${s.gid} cannot be had: only root can run a box's processes as another user (this process is uid ${me}); run as root, leave uid and gid unset (an ordinary user's boxes run as that user, in user namespaces), or use SecurityOptions.development()`);
  }
  let max = 0;
  try { max = Number(fs.readFileSync('/proc/sys/user/max_user_namespaces', 'utf8').trim()); } catch { /* no such file: no user namespaces */ }
  let debianSwitch = '1';
  try { debianSwitch = fs.readFileSync('/proc/sys/kernel/unprivileged_userns_clone', 'utf8').trim(); } catch { /* not a Debian kernel switch here */ }
  let apparmor = '0';
  try { apparmor = fs.readFileSync('/proc/sys/kernel/apparmor_restrict_unprivileged_userns', 'utf8').trim(); } catch { /* no such restriction here */ }
  if (apparmor === '1') {
    throw boxliteError('Config', 'the jailer needs user namespaces to confine a box without root, and AppArmor restricts them here (kernel.apparmor_restrict_unprivileged_userns is 1); allow them for node with an AppArmor profile, run as root, or use SecurityOptions.development()');
  }
  if (debianSwitch === '0') {
    throw boxliteError('Config', 'the jailer needs user namespaces to confine a box without root, and kernel.unprivileged_userns_clone is 0 here; set it to 1 (sysctl kernel.unprivileged_userns_clone=1), run as root, or use SecurityOptions.development()');
  }
  if (!(max > 0)) {
    throw boxliteError('Config', `the jailer needs user namespaces to confine a box without root, and this host has none (user.max_user_namespaces is ${max}); enable them (sysctl user.max_user_namespaces=15000), run as root, or use SecurityOptions.development()`);
  }
}
