// Registry credentials: from the options, else from Docker's config.json (`credHelpers`, `auths`, `credsStore`, honouring DOCKER_CONFIG).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { helperCredential } from './credential-helper.js';

/** A user name and password (or token used as a password) for one registry. */
export interface RegistryCredential {
  username: string;
  password: string;
  /** An OAuth2 refresh token (Docker's `identitytoken`); when set, bearer tokens are asked for with it instead. */
  identityToken?: string;
}

/** Credentials per registry host (`ghcr.io`, `127.0.0.1:5000`); `docker.io` for Docker Hub. */
export type CredentialMap = Record<string, RegistryCredential>;

/** What Docker's config.json says about credentials. */
export interface DockerCredentialConfig {
  /** Inline credentials per registry host. */
  auths: CredentialMap;
  /** Credential helper names per registry host (`docker-credential-<name>`). */
  credHelpers: Record<string, string>;
  /** The helper for every other registry. */
  credsStore?: string;
}

/** The server URL Docker uses as Docker Hub's credential key. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

/** The registry host a config.json key names: `https://index.docker.io/v1/` → `docker.io`, `http://h:5000/` → `h:5000`. */
export function credentialKeyHost(key: string): string {
  let host = key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  if (host === 'index.docker.io' || host === 'registry-1.docker.io') host = 'docker.io';
  return host;
}

/** Where Docker keeps its client config: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.DOCKER_CONFIG || path.join(os.homedir(), '.docker'), 'config.json');
}

/** The credential settings of Docker's config.json (a missing or unreadable file holds none). */
export function dockerCredentialConfig(env: NodeJS.ProcessEnv = process.env): DockerCredentialConfig {
  let doc: { auths?: Record<string, unknown>; credHelpers?: Record<string, unknown>; credsStore?: unknown };
  try {
    doc = JSON.parse(fs.readFileSync(dockerConfigPath(env), 'utf8')) as typeof doc;
  } catch {
    return { auths: {}, credHelpers: {} };
  }
  const auths: CredentialMap = {};
  for (const [key, entry] of Object.entries(doc.auths ?? {})) {
    const cred = inlineCredential(entry);
    if (cred) auths[credentialKeyHost(key)] ??= cred;
  }
  const credHelpers: Record<string, string> = {};
  for (const [key, name] of Object.entries(doc.credHelpers ?? {})) {
    if (typeof name === 'string' && name !== '') credHelpers[credentialKeyHost(key)] ??= name;
  }
  const credsStore = typeof doc.credsStore === 'string' && doc.credsStore !== '' ? doc.credsStore : undefined;
  return { auths, credHelpers, ...(credsStore ? { credsStore } : {}) };
}

/**
 * The credential for `registry`, in Docker's order: the options' entry, then the registry's `credHelpers` helper,
 * then inline `auths`, then the `credsStore` helper. Helpers run only here, so a pull that needs no credentials
 * runs none (the registry client asks only when a registry answers 401).
 */
export async function resolveCredential(registry: string, fromOptions: CredentialMap | undefined, env: NodeJS.ProcessEnv = process.env): Promise<RegistryCredential | undefined> {
  const own = fromOptions?.[registry];
  if (own) return own;
  const config = dockerCredentialConfig(env);
  const serverUrl = registry === 'docker.io' ? DOCKER_HUB_KEY : registry;
  const helper = config.credHelpers[registry];
  if (helper) return helperCredential(helper, serverUrl, 'credHelpers', env);
  const inline = config.auths[registry];
  if (inline) return inline;
  return config.credsStore ? helperCredential(config.credsStore, serverUrl, 'credsStore', env) : undefined;
}

/** A credential from one `auths` entry: `auth` (base64 user:password), `username`/`password`, or `identitytoken`. */
function inlineCredential(entry: unknown): RegistryCredential | undefined {
  if (!entry || typeof entry !== 'object') return undefined;
  const e = entry as { auth?: unknown; username?: unknown; password?: unknown; identitytoken?: unknown };
  if (typeof e.identitytoken === 'string' && e.identitytoken !== '') return { username: '', password: '', identityToken: e.identitytoken };
  if (typeof e.auth === 'string' && e.auth !== '') {
    const text = Buffer.from(e.auth, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    return colon > 0 ? { username: text.slice(0, colon), password: text.slice(colon + 1) } : undefined;
  }
  if (typeof e.username === 'string' && typeof e.password === 'string') return { username: e.username, password: e.password };
  return undefined;
}
