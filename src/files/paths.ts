// Box paths given to the files API: strings without NUL bytes, made absolute against the box's root.
import path from 'node:path';
import { boxliteError } from '../errors.js';

/** The absolute, normalized box path for `p` (relative paths are taken from `/`). */
export function boxPath(p: unknown, what = 'path'): string {
  if (typeof p !== 'string' || p === '') throw boxliteError('InvalidArgument', `${what} must be a non-empty string (a path in the box), got ${JSON.stringify(p)}`);
  if (p.includes('\0')) throw boxliteError('InvalidArgument', `${what} ${JSON.stringify(p)} contains a NUL byte`);
  if (Buffer.byteLength(p) > 4000) throw boxliteError('InvalidArgument', `${what} is ${Buffer.byteLength(p)} bytes long; box paths are at most 4000 bytes`);
  return path.posix.resolve('/', p);
}

/** A permission mode as the agent takes it (octal text), or '' for its default. */
export function modeArg(mode: number | undefined, what = 'mode'): string {
  if (mode === undefined) return '';
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw boxliteError('InvalidArgument', `${what} must be an integer 0..0o7777, got ${mode}`);
  return mode.toString(8);
}

/** An owner spec for the agent: a user as `BoxCommand.user` takes it. */
export async function ownerArg(owner: string | undefined, fallback: () => Promise<string>): Promise<string> {
  if (owner === undefined) return fallback();
  if (typeof owner !== 'string' || owner.includes('\0') || owner === '-' || Buffer.byteLength(owner) > 256) {
    throw boxliteError('InvalidArgument', `owner must be a user such as "app", "1000" or "1000:1000", got ${JSON.stringify(owner)}`);
  }
  return owner;
}
