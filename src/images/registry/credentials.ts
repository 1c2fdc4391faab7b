// Registry credentials: from the options, else from Docker's config.json (`auths.<host>.auth`, honouring DOCKER_CONFIG).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A user name and password (or token used as a password) for one registry. */
export interface RegistryCredential {
  username: string;
  password: string;
}

/** Credentials per registry host (`ghcr.io`, `127.0.0.1:5000`); `docker.io` for Docker Hub. */
export type CredentialMap = Record<string, RegistryCredential>;

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

/** Credentials found in Docker's config.json (missing or unreadable file → none; credential helpers are not run). */
export function dockerConfigCredentials(env: NodeJS.ProcessEnv = process.env): CredentialMap {
  let doc: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
  try {
    doc = JSON.parse(fs.readFileSync(dockerConfigPath(env), 'utf8')) as typeof doc;
  } catch {
    return {};
  }
  const out: CredentialMap = {};
  for (const [key, entry] of Object.entries(doc.auths ?? {})) {
    if (!entry || typeof entry !== 'object') continue;
    let cred: RegistryCredential | undefined;
    if (typeof entry.auth === 'string' && entry.auth !== '') {
      const text = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = text.indexOf(':');
      if (colon > 0) cred = { username: text.slice(0, colon), password: text.slice(colon + 1) };
    } else if (typeof entry.username === 'string' && typeof entry.password === 'string') {
      cred = { username: entry.username, password: entry.password };
    }
    if (cred) out[credentialKeyHost(key)] ??= cred;
  }
  return out;
}

/** The credential for `registry`: the options' entry first, then Docker's config. */
export function credentialFor(registry: string, fromOptions: CredentialMap | undefined, env: NodeJS.ProcessEnv = process.env): RegistryCredential | undefined {
  return fromOptions?.[registry] ?? dockerConfigCredentials(env)[registry];
}
