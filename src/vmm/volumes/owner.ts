// Who owns what a box writes to a volume on the host: the shared directory's owner, or nobody when that is root.
import fs from 'node:fs';

/** The host uid and gid a volume's file server runs as, so every file the box creates there belongs to them. */
export interface VolumeOwner {
  uid: number;
  gid: number;
}

/** `nobody` / `nogroup`: the owner used in place of root, as NFS's root_squash does. */
export const SQUASHED_ID = 65534;

/**
 * The owner for a directory (pure): its own uid and gid, except that root (uid or gid 0) becomes nobody/nogroup, so a
 * box never makes a root-owned file on the host.
 */
export function ownerFor(st: { uid: number; gid: number }): VolumeOwner {
  return { uid: st.uid === 0 ? SQUASHED_ID : st.uid, gid: st.gid === 0 || st.uid === 0 ? SQUASHED_ID : st.gid };
}

/** The owner for the directory at `hostPath`, as it is now (read at each start). */
export function volumeOwner(hostPath: string): VolumeOwner {
  return ownerFor(fs.statSync(hostPath));
}
