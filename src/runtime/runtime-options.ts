// Validation of a runtime's image options (BoxliteOptions): every option an image error names is settable here.
import { boxliteError } from '../errors.js';
import { validRegistryHost, validRegistryPrefix } from '../images/reference.js';
import type { CredentialMap } from '../images/registry/credentials.js';
import type { BoxliteOptions } from './options.js';

/** The image options of a runtime after validation (what its ImageStore gets). */
export interface ResolvedRuntimeOptions {
  imageRegistries: string[];
  insecureRegistries: string[];
  credentials?: CredentialMap;
  registryTimeoutMs?: number;
}

const invalid = (msg: string): never => { throw boxliteError('InvalidArgument', msg); };

/** Checks the image options of `options`; InvalidArgument naming the option and what to pass otherwise. */
export function resolveRuntimeOptions(options: BoxliteOptions): ResolvedRuntimeOptions {
  if (typeof options !== 'object' || options === null) invalid(`runtime options must be an object, got ${JSON.stringify(options)}`);
  const imageRegistries = stringList('imageRegistries', options.imageRegistries).map(validRegistryPrefix);
  const insecureRegistries = stringList('insecureRegistries', options.insecureRegistries).map((h) => validRegistryHost(h, 'insecureRegistries'));
  const out: ResolvedRuntimeOptions = { imageRegistries, insecureRegistries };
  if (options.credentials !== undefined) out.credentials = checkCredentials(options.credentials);
  const t = options.registryTimeoutMs;
  if (t !== undefined) {
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > 3_600_000) invalid(`registryTimeoutMs must be an integer between 1 and 3600000 (ms), got ${JSON.stringify(t)}`);
    out.registryTimeoutMs = t;
  }
  return out;
}

function stringList(name: string, v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((e) => typeof e === 'string')) invalid(`${name} must be an array of strings, got ${JSON.stringify(v)}`);
  return [...(v as string[])];
}

function checkCredentials(v: unknown): CredentialMap {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) invalid(`credentials must map registry hosts to { username, password }, got ${JSON.stringify(v)}`);
  for (const [host, c] of Object.entries(v as Record<string, unknown>)) {
    validRegistryHost(host, 'credentials');
    const cred = c as { username?: unknown; password?: unknown; identityToken?: unknown } | null;
    if (typeof cred !== 'object' || cred === null || typeof cred.username !== 'string' || typeof cred.password !== 'string' ||
      (cred.identityToken !== undefined && typeof cred.identityToken !== 'string')) {
      invalid(`credentials[${JSON.stringify(host)}] must be { username: string, password: string, identityToken?: string }`);
    }
  }
  return v as CredentialMap;
}
