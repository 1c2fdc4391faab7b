// Runs a Docker credential helper (`docker-credential-<name> get`, server URL on stdin, JSON on stdout), bounded in time and output.
import { spawn } from 'node:child_process';
import { boxliteError } from '../../errors.js';
import type { RegistryCredential } from './credentials.js';

/** Most bytes of a helper's stdout or stderr kept. */
const MAX_OUTPUT_BYTES = 64 * 1024;
/** Longest a helper may take (a keychain prompt included). */
const HELPER_TIMEOUT_MS = 30_000;
/** The user name a helper returns when the secret is an identity (refresh) token. */
const IDENTITY_TOKEN_USER = '<token>';

/** Where a helper name came from, for error messages. */
export type HelperOrigin = 'credHelpers' | 'credsStore';

/**
 * Asks the helper `name` for the credential of `serverUrl`. Undefined when the helper has none for it;
 * an Image error when the helper is missing, fails, times out, or answers something that is not a credential.
 */
export async function helperCredential(name: string, serverUrl: string, origin: HelperOrigin, env: NodeJS.ProcessEnv = process.env): Promise<RegistryCredential | undefined> {
  const program = `docker-credential-${name}`;
  const where = `the credential helper ${program} (config.json ${origin})`;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw boxliteError('Image', `config.json ${origin} names the credential helper ${JSON.stringify(name)}, which is not a valid helper name; fix ~/.docker/config.json`);
  }
  const { code, stdout, stderr, error, timedOut } = await runHelper(program, serverUrl, env);
  if (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw boxliteError('Image', missing
      ? `${where} is not on PATH, so the credentials for ${serverUrl} cannot be read; install it or remove "${name}" from ~/.docker/config.json`
      : `${where} could not be run for ${serverUrl}: ${error.message}`, error);
  }
  if (timedOut) throw boxliteError('Image', `${where} did not answer for ${serverUrl} within ${HELPER_TIMEOUT_MS} ms; check that it works: echo ${serverUrl} | ${program} get`);
  if (code !== 0) {
    if (/credentials not found/i.test(stdout + stderr)) return undefined;
    throw boxliteError('Image', `${where} failed for ${serverUrl} with exit code ${code}: ${(stderr || stdout).trim().slice(0, 500)}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch (e) {
    throw boxliteError('Image', `${where} answered for ${serverUrl} with output that is not JSON; check it with: echo ${serverUrl} | ${program} get`, e);
  }
  const { Username: username, Secret: secret } = (doc ?? {}) as { Username?: unknown; Secret?: unknown };
  if (typeof username !== 'string' || typeof secret !== 'string' || secret === '') {
    throw boxliteError('Image', `${where} answered for ${serverUrl} without a Username and Secret`);
  }
  return username === IDENTITY_TOKEN_USER ? { username: '', password: '', identityToken: secret } : { username, password: secret };
}

interface HelperRun {
  code: number | null;
  stdout: string;
  stderr: string;
  error?: Error;
  timedOut: boolean;
}

/** Runs `program get` with `input` on stdin; output past the cap is dropped. Secrets never go on the command line. */
function runHelper(program: string, input: string, env: NodeJS.ProcessEnv): Promise<HelperRun> {
  return new Promise((resolve) => {
    const child = spawn(program, ['get'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, HELPER_TIMEOUT_MS);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const keep = (into: Buffer[]) => (chunk: Buffer): void => {
      const have = into.reduce((n, b) => n + b.length, 0);
      if (have < MAX_OUTPUT_BYTES) into.push(chunk.subarray(0, MAX_OUTPUT_BYTES - have));
    };
    child.stdout.on('data', keep(out));
    child.stderr.on('data', keep(err));
    child.stdin.on('error', () => undefined); // a helper that exits without reading its input
    child.stdin.end(input);
    const text = (b: Buffer[]): string => Buffer.concat(b).toString('utf8');
    child.on('error', (error) => { clearTimeout(timer); resolve({ code: null, stdout: text(out), stderr: text(err), error, timedOut }); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout: text(out), stderr: text(err), timedOut }); });
  });
}
