// A client for one registry's distribution API v2: manifests and blobs, with Bearer-token and Basic auth.
import { createHash } from 'node:crypto';
import { BoxliteError, boxliteError } from '../../errors.js';
import { MANIFEST_ACCEPT } from '../manifest.js';
import { parseChallenges, type AuthChallenge } from './challenge.js';
import type { RegistryCredential } from './credentials.js';
import { bodyChunks, cappedBody, Deadline, registryError, schemeFor, unreachableError } from './http.js';

/** How to reach one registry. */
export interface RegistryClientOptions {
  /** Registry host with port (`127.0.0.1:5000`, `ghcr.io`). */
  registry: string;
  /** The credential, or how to find it: asked for only when the registry first answers 401. */
  credential?: RegistryCredential | (() => Promise<RegistryCredential | undefined>);
  /** Hosts (or host:port) to reach over plain http; loopback registries always are. */
  insecureRegistries?: readonly string[];
  /** Longest wait for response headers, and for each body chunk (default 30 000). */
  timeoutMs?: number;
}

/** A fetched manifest or index: its bytes, computed digest and content type. */
export interface FetchedManifest {
  bytes: Buffer;
  digest: string;
  contentType: string | undefined;
  url: string;
}

/** A blob body as a stream of chunks (idle-timed), from byte `offset` of the blob. */
export interface BlobStream {
  chunks: AsyncIterable<Uint8Array>;
  url: string;
  /** Where the chunks start: the offset asked for when the registry honoured the range, else 0. */
  offset: number;
}

/** Docker Hub's API host: images named docker.io/... are served from here. */
const DOCKER_HUB_API = 'registry-1.docker.io';

/** Manifests larger than this are refused (the spec's limit for registries is 4 MiB). */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** Talks to one registry; caches tokens per scope for the life of the client. */
export class RegistryClient {
  readonly registry: string;
  readonly baseUrl: string;
  private readonly credentialSource: RegistryClientOptions['credential'];
  private credentialLookup: Promise<RegistryCredential | undefined> | undefined;
  /** The credential once looked up. */
  private credential: RegistryCredential | undefined;
  private readonly timeoutMs: number;
  private readonly tokens = new Map<string, { header: string; expiresAt: number }>();
  private basic = false;

  constructor(opts: RegistryClientOptions) {
    this.registry = opts.registry;
    this.baseUrl = `${schemeFor(opts.registry, opts.insecureRegistries)}://${opts.registry === 'docker.io' ? DOCKER_HUB_API : opts.registry}`;
    this.credentialSource = opts.credential;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** GETs a manifest or index by tag or digest; when `reference` is a digest the bytes must hash to it. */
  async getManifest(repository: string, reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const path = `/v2/${repository}/manifests/${reference}`;
    const { res, url, deadline } = await this.send('GET', path, repository, { Accept: MANIFEST_ACCEPT }, signal);
    try {
      if (!res.ok) throw await this.statusError('GET', url, res, repository, reference);
      const bytes = await readAll(res, MAX_MANIFEST_BYTES, deadline, () => registryError(`the manifest at ${url} is larger than ${MAX_MANIFEST_BYTES} bytes; that is not an image manifest`, { registry: this.registry, method: 'GET', url, status: res.status, unreachable: false }));
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      if (reference.startsWith('sha256:') && digest !== reference) {
        throw registryError(`the manifest at ${url} has digest ${digest}, not the ${reference} asked for; the registry (${this.registry}) returned wrong content`, { registry: this.registry, method: 'GET', url, status: res.status, unreachable: false });
      }
      return { bytes, digest, contentType: res.headers.get('content-type') ?? undefined, url };
    } catch (e) {
      if (!BoxliteError.is(e)) throw unreachableError(this.registry, 'GET', url, e, deadline, 'the connection broke while reading the manifest; try again');
      throw e;
    } finally {
      deadline.clear();
    }
  }

  /**
   * Streams a blob, from byte `offset` when it is above 0 (a Range request; a registry that ignores it sends the
   * whole blob, and `offset` of the result says so). The caller must consume (or break out of) `chunks`; each
   * chunk must arrive within the timeout.
   */
  async getBlob(repository: string, digest: string, signal?: AbortSignal, offset = 0): Promise<BlobStream> {
    const path = `/v2/${repository}/blobs/${digest}`;
    const { res, url, deadline } = await this.send('GET', path, repository, offset > 0 ? { Range: `bytes=${offset}-` } : {}, signal);
    if (!res.ok) {
      deadline.clear();
      throw await this.statusError('GET', url, res, repository, digest);
    }
    let start = 0;
    if (res.status === 206) {
      start = Number(/^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1] ?? -1);
      if (start !== offset) {
        deadline.clear();
        await res.body?.cancel().catch(() => undefined);
        throw registryError(`GET ${url} asked for bytes from ${offset} and got a partial answer with Content-Range ${JSON.stringify(res.headers.get('content-range'))}; the registry (${this.registry}) answered a range request wrongly`, { registry: this.registry, method: 'GET', url, status: 206, unreachable: false });
      }
    }
    const registry = this.registry;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      try {
        for await (const chunk of bodyChunks(res, deadline.signal)) {
          deadline.touch();
          yield chunk;
        }
      } catch (e) {
        throw unreachableError(registry, 'GET', url, e, deadline, 'the connection broke during the download; try the pull again');
      } finally {
        deadline.clear();
      }
    }
    return { chunks: chunks(), url, offset: start };
  }

  /**
   * @internal Sends a request with auth; answers one 401 by authenticating as its challenge asks, then retries once.
   * `target` is a path under the registry or a URL it gave (an upload location; auth goes only to the registry's own
   * origin). `opts.body` is made anew for each attempt and may call `touch` as it is read (the deadline then counts
   * from the last chunk sent); `opts.actions` is the token scope's (`pull`, or `pull,push`).
   */
  async send(method: string, target: string, repository: string, headers: Record<string, string>, signal?: AbortSignal,
    opts: { body?: (touch: () => void) => Buffer | AsyncIterable<Uint8Array>; actions?: string } = {}): Promise<{ res: Response; url: string; deadline: Deadline }> {
    const url = /^https?:\/\//.test(target) ? target : `${this.baseUrl}${target}`;
    const actions = opts.actions ?? 'pull';
    const ownOrigin = new URL(url).origin === new URL(this.baseUrl).origin;
    for (let attempt = 0; ; attempt++) {
      const deadline = new Deadline(this.timeoutMs, signal);
      const auth = ownOrigin ? this.authHeader(repository, actions) : undefined;
      let res: Response;
      try {
        const body = opts.body?.(() => deadline.touch());
        const init: RequestInit & { duplex?: 'half' } = { method, headers: { ...headers, ...(auth ? { Authorization: auth } : {}) }, signal: deadline.signal, redirect: 'follow' };
        if (body) Object.assign(init, { body, ...(Buffer.isBuffer(body) ? {} : { duplex: 'half' }) });
        res = await fetch(url, init);
      } catch (e) {
        deadline.clear();
        const hint = this.baseUrl.startsWith('https:')
          ? `check that it is up; if it serves plain http, list "${this.registry}" in insecureRegistries`
          : 'check that it is up and listening';
        throw unreachableError(this.registry, method, url, e, deadline, hint);
      }
      if (res.status !== 401 || attempt > 0 || !ownOrigin) return { res, url, deadline };
      const header = res.headers.get('www-authenticate') ?? '';
      await res.body?.cancel().catch(() => undefined);
      deadline.clear();
      await this.authenticate(parseChallenges(header), repository, actions, url, method, signal);
    }
  }

  private scopeKey(repository: string, actions: string): string {
    return `repository:${repository}:${actions}`;
  }

  private authHeader(repository: string, actions: string): string | undefined {
    const token = this.tokens.get(this.scopeKey(repository, actions));
    if (token && token.expiresAt > Date.now()) return token.header;
    if (this.basic && this.credential) return basicHeader(this.credential);
    return undefined;
  }

  /** Answers a 401: fetches a Bearer token from the realm (anonymously or with the credential), or switches to Basic. */
  private async authenticate(challenges: AuthChallenge[], repository: string, actions: string, url: string, method: string, signal?: AbortSignal): Promise<void> {
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (bearer?.params.realm) {
      await this.fetchToken(bearer, repository, actions, signal);
      return;
    }
    if (basic) {
      const credential = await this.lookUpCredential();
      if (credential?.identityToken) {
        throw registryError(`registry ${this.registry} asks for Basic auth, but its credential in ~/.docker/config.json is an identity token, which only works with a token service; log in with a user name and password instead`, { registry: this.registry, method, url, status: 401, unreachable: false });
      }
      if (!credential) {
        throw registryError(`registry ${this.registry} needs a user name and password (${method} ${url} answered 401 with Basic auth); add them to ~/.docker/config.json (auths["${this.registry}"].auth = base64 of user:password) or pass credentials: { "${this.registry}": { username, password } }`, { registry: this.registry, method, url, status: 401, unreachable: false });
      }
      this.basic = true;
      return;
    }
    throw registryError(`registry ${this.registry} answered ${method} ${url} with 401 and an authentication challenge BoxLite cannot answer: ${JSON.stringify(challenges.map((c) => c.scheme))}`, { registry: this.registry, method, url, status: 401, unreachable: false });
  }

  /** The credential, looked up once (a failed lookup is tried again next time). */
  private lookUpCredential(): Promise<RegistryCredential | undefined> {
    const source = this.credentialSource;
    this.credentialLookup ??= (typeof source === 'function' ? source() : Promise.resolve(source)).then(
      (c) => { this.credential = c; return c; },
      (e: unknown) => { this.credentialLookup = undefined; throw e; },
    );
    return this.credentialLookup;
  }

  /**
   * Gets a Bearer token from the challenge's realm: GET with Basic auth (or anonymously), or, for an identity
   * token, the OAuth2 refresh-token grant (POST) that Docker uses.
   */
  private async fetchToken(challenge: AuthChallenge, repository: string, actions: string, signal?: AbortSignal): Promise<void> {
    const credential = await this.lookUpCredential();
    const realm = new URL(challenge.params.realm!);
    const scopes = (challenge.params.scope ?? this.scopeKey(repository, actions)).split(' ');
    const form = new URLSearchParams();
    if (credential?.identityToken) {
      form.set('grant_type', 'refresh_token');
      form.set('refresh_token', credential.identityToken);
      form.set('client_id', 'boxlite');
      if (challenge.params.service) form.set('service', challenge.params.service);
      form.set('scope', scopes.join(' '));
    } else {
      if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
      for (const s of scopes) realm.searchParams.append('scope', s);
    }
    const method = credential?.identityToken ? 'POST' : 'GET';
    const url = realm.toString();
    const deadline = new Deadline(this.timeoutMs, signal);
    let res: Response;
    try {
      res = await fetch(url, method === 'POST'
        ? { method, body: form, signal: deadline.signal }
        : { headers: credential ? { Authorization: basicHeader(credential) } : {}, signal: deadline.signal });
    } catch (e) {
      deadline.clear();
      throw unreachableError(this.registry, method, url, e, deadline, `the token service of registry ${this.registry} could not be reached`);
    }
    try {
      if (!res.ok) {
        const body = await cappedBody(res);
        const who = !credential ? 'anonymously (no credentials for this registry)' : credential.identityToken ? 'with the identity token from ~/.docker/config.json' : `as user ${JSON.stringify(credential.username)}`;
        throw registryError(`the token service for registry ${this.registry} refused a token ${who}: ${method} ${url} returned ${res.status} ${res.statusText}${body ? `: ${body}` : ''}; check the credentials in ~/.docker/config.json or the credentials option`, { registry: this.registry, method, url, status: res.status, unreachable: false });
      }
      const text = (await readAll(res, 1024 * 1024, deadline, () => boxliteError('Image', `token response from ${url} is too large`))).toString('utf8');
      let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
      try {
        doc = (JSON.parse(text) ?? {}) as typeof doc;
      } catch (e) {
        throw registryError(`the token service ${url} for registry ${this.registry} answered with something that is not JSON`, { registry: this.registry, method, url, status: res.status, unreachable: false }, e);
      }
      const token = typeof doc.token === 'string' && doc.token !== '' ? doc.token : doc.access_token;
      if (typeof token !== 'string' || token === '') throw registryError(`the token service ${url} for registry ${this.registry} answered without a token`, { registry: this.registry, method, url, status: res.status, unreachable: false });
      const ttlMs = Math.max(30, typeof doc.expires_in === 'number' && Number.isFinite(doc.expires_in) ? doc.expires_in : 60) * 1000;
      this.tokens.set(this.scopeKey(repository, actions), { header: `Bearer ${token}`, expiresAt: Date.now() + ttlMs - 5_000 });
    } finally {
      deadline.clear();
    }
  }

  /** @internal An Image error for a non-2xx answer, with method, URL, status, a capped body and what to do. */
  async statusError(method: string, url: string, res: Response, repository: string, what: string): Promise<Error> {
    const body = await cappedBody(res);
    let hint = '';
    if (res.status === 404) hint = `; ${this.registry}/${repository} has no ${what}: check the name and tag`;
    else if (res.status === 401 || res.status === 403) hint = `; access to ${this.registry}/${repository} was denied: check the credentials (~/.docker/config.json or the credentials option)`;
    else if (res.status >= 500) hint = '; the registry failed: try again later';
    return registryError(`${method} ${url} returned ${res.status} ${res.statusText}${body ? `: ${body}` : ''}${hint}`, { registry: this.registry, method, url, status: res.status, unreachable: false });
  }
}

function basicHeader(c: RegistryCredential): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}


async function readAll(res: Response, max: number, deadline: Deadline, tooBig: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of bodyChunks(res, deadline.signal)) {
    deadline.touch();
    size += chunk.byteLength;
    if (size > max) throw tooBig();
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}
