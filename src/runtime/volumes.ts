// Volumes: VolumeSpec validated at create (host directory exists, guest path absolute and unique).
import fs from 'node:fs';
import path from 'node:path';
import { boxliteError } from '../errors.js';
import type { VolumeSpec } from './options.js';

/** Most volumes one box may have (one virtiofsd and one device each). */
export const MAX_VOLUMES = 16;

/** A validated volume: the host directory (resolved), where it appears in the box, and its virtiofs tag. */
export interface ResolvedVolume {
  tag: string;
  hostPath: string;
  guestPath: string;
  readOnly: boolean;
}

const invalid = (msg: string): never => { throw boxliteError('InvalidArgument', msg); };

/** Checks `specs`: each host path an existing directory, each guest path absolute, normalised, not `/`, unique. */
export function resolveVolumes(specs: readonly VolumeSpec[] | undefined): ResolvedVolume[] {
  if (specs === undefined) return [];
  if (!Array.isArray(specs)) invalid(`volumes must be an array of { hostPath, guestPath, readOnly? }, got ${JSON.stringify(specs)}`);
  if (specs.length > MAX_VOLUMES) invalid(`a box can have at most ${MAX_VOLUMES} volumes, got ${specs.length}`);
  const seen = new Set<string>();
  return specs.map((v, i): ResolvedVolume => {
    const where = `volumes[${i}]`;
    if (typeof v !== 'object' || v === null) invalid(`${where} must be an object, got ${JSON.stringify(v)}`);
    if (typeof v.hostPath !== 'string' || !path.isAbsolute(v.hostPath)) invalid(`${where}.hostPath must be an absolute host path, got ${JSON.stringify(v.hostPath)}`);
    let hostPath = '';
    try {
      hostPath = fs.realpathSync(v.hostPath);
    } catch (e) {
      invalid(`${where}.hostPath ${v.hostPath} does not exist (${(e as Error).message}); create the directory first`);
    }
    if (!fs.statSync(hostPath).isDirectory()) invalid(`${where}.hostPath ${v.hostPath} is not a directory; volumes share directories`);
    const g = v.guestPath;
    if (typeof g !== 'string' || !g.startsWith('/') || g.includes('\0') || g.split('/').some((p) => p === '..' || p === '.')) {
      invalid(`${where}.guestPath must be an absolute path inside the box without "." or "..", got ${JSON.stringify(g)}`);
    }
    const guestPath = path.posix.normalize(g).replace(/\/+$/, '');
    if (guestPath === '') invalid(`${where}.guestPath cannot be "/": mount the volume on a directory inside the box`);
    if (seen.has(guestPath)) invalid(`${where}.guestPath ${guestPath} is used by another volume`);
    seen.add(guestPath);
    if (v.readOnly !== undefined && typeof v.readOnly !== 'boolean') invalid(`${where}.readOnly must be true or false, got ${JSON.stringify(v.readOnly)}`);
    return { tag: `vol${i}`, hostPath, guestPath, readOnly: v.readOnly ?? false };
  });
}

/** A `docker run -v`-style flag as a VolumeSpec: `HOST:GUEST` or `HOST:GUEST:ro` (or `:rw`). */
export function parseVolumeFlag(flag: string): VolumeSpec {
  const m = /^([^:]+):([^:]+?)(?::(ro|rw))?$/.exec(flag);
  if (!m) invalid(`--volume ${JSON.stringify(flag)} must look like HOST_DIR:GUEST_DIR or HOST_DIR:GUEST_DIR:ro`);
  return { hostPath: path.resolve(m![1]!), guestPath: m![2]!, ...(m![3] === 'ro' ? { readOnly: true } : {}) };
}
