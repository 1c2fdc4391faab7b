// The image config blob: the process defaults (env, working dir, user, entrypoint, cmd) a box starts with.
import { boxliteError } from '../errors.js';

/** What the image says a container should run with. */
export interface ImageConfig {
  /** `KEY=VALUE` pairs split at the first `=`, in image order. */
  env: [string, string][];
  workingDir?: string;
  user?: string;
  entrypoint?: string[];
  cmd?: string[];
  /** When the image was built (ISO 8601), if the config says. */
  created?: string;
  /** The uncompressed layer digests (rootfs.diff_ids). */
  diffIds: string[];
}

/** Parses a config blob; `where` names its source for the error. */
export function parseImageConfig(bytes: Buffer, where: string): ImageConfig {
  let doc: { config?: Record<string, unknown> | null; created?: unknown; rootfs?: { diff_ids?: unknown } };
  try {
    doc = JSON.parse(bytes.toString('utf8')) as typeof doc;
  } catch (e) {
    throw boxliteError('Image', `the image config ${where} is not JSON; the image is damaged: pull or build it again`, e);
  }
  if (typeof doc !== 'object' || doc === null) throw boxliteError('Image', `the image config ${where} is not a JSON object`);
  const c = doc.config ?? {};
  const strings = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : undefined);
  const env: [string, string][] = (strings(c.Env) ?? []).map((kv) => {
    const i = kv.indexOf('=');
    return i < 0 ? [kv, ''] : [kv.slice(0, i), kv.slice(i + 1)];
  });
  const out: ImageConfig = { env, diffIds: strings(doc.rootfs?.diff_ids) ?? [] };
  if (typeof c.WorkingDir === 'string' && c.WorkingDir !== '') out.workingDir = c.WorkingDir;
  if (typeof c.User === 'string' && c.User !== '') out.user = c.User;
  const entrypoint = strings(c.Entrypoint);
  if (entrypoint) out.entrypoint = entrypoint;
  const cmd = strings(c.Cmd);
  if (cmd) out.cmd = cmd;
  if (typeof doc.created === 'string') out.created = doc.created;
  return out;
}
