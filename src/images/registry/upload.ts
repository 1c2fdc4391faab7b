// Pushing to a registry (distribution API v2): blob existence checks, monolithic uploads (POST, then PUT with the
// digest), and manifest PUTs, through one RegistryClient (its auth, timeouts and errors).
import { BoxliteError } from '../../errors.js';
import type { RegistryClient } from './client.js';
import { registryError, unreachableError } from './http.js';

const PUSH = 'pull,push';

/** True when the registry already has the blob `digest` in `repository` (HEAD answers 200). */
export async function blobExists(client: RegistryClient, repository: string, digest: string, signal?: AbortSignal): Promise<boolean> {
  const { res, url, deadline } = await client.send('HEAD', `/v2/${repository}/blobs/${digest}`, repository, {}, signal, { actions: PUSH });
  deadline.clear();
  await res.body?.cancel().catch(() => undefined);
  if (res.status === 200) return true;
  if (res.status === 404) return false;
  throw await client.statusError('HEAD', url, res, repository, `blob ${digest}`);
}

/**
 * Uploads one blob: POST an upload session, then PUT its bytes (`body()`, made anew for a retry after a 401) to the
 * location the registry gave, with `?digest=`. The registry checks the digest; a 201 means it has the blob. With
 * `mountFrom` (another repository of the registry that has the blob) the POST first asks for a cross-repository
 * mount: a 201 means nothing needs sending; a registry that cannot mount answers 202 and the upload goes on (any
 * other answer to it is followed by a plain upload).
 */
export async function uploadBlob(client: RegistryClient, repository: string, blob: { digest: string; size: number }, body: () => AsyncIterable<Uint8Array>, signal?: AbortSignal, mountFrom?: string): Promise<'mounted' | 'uploaded'> {
  const mount = mountFrom ? `?mount=${blob.digest}&from=${encodeURIComponent(mountFrom)}` : '';
  const post = await client.send('POST', `/v2/${repository}/blobs/uploads/${mount}`, repository, { 'Content-Length': '0' }, signal, { actions: PUSH });
  post.deadline.clear();
  await post.res.body?.cancel().catch(() => undefined);
  if (mount && post.res.status === 201) return 'mounted';
  // A mount is only a shortcut: refused (e.g. no pull access to the other repository), the blob is uploaded.
  if (mount && post.res.status !== 202) return uploadBlob(client, repository, blob, body, signal);
  if (post.res.status !== 202) throw await client.statusError('POST', post.url, post.res, repository, 'upload session');
  const location = post.res.headers.get('location');
  if (!location) throw registryError(`POST ${post.url} answered 202 without a Location header; the registry (${client.registry}) does not follow the distribution API`, { registry: client.registry, method: 'POST', url: post.url, status: 202, unreachable: false });
  const target = new URL(location, client.baseUrl);
  target.searchParams.set('digest', blob.digest);
  const put = await client.send('PUT', target.toString(), repository, { 'Content-Type': 'application/octet-stream' }, signal, {
    actions: PUSH,
    body: (touch) => (async function* sent() { for await (const chunk of body()) { touch(); yield chunk; } })(),
  });
  try {
    if (put.res.status !== 201) throw await client.statusError('PUT', put.url, put.res, repository, `blob ${blob.digest}`);
    await put.res.body?.cancel().catch(() => undefined);
    return 'uploaded';
  } catch (e) {
    if (!BoxliteError.is(e)) throw unreachableError(client.registry, 'PUT', put.url, e, put.deadline, 'the connection broke during the upload; try the push again');
    throw e;
  } finally {
    put.deadline.clear();
  }
}

/** PUTs the manifest `bytes` (of `mediaType`) as `reference` (a tag or its digest); returns the digest the registry says it stored. */
export async function putManifest(client: RegistryClient, repository: string, reference: string, bytes: Buffer, mediaType: string, signal?: AbortSignal): Promise<string | undefined> {
  const { res, url, deadline } = await client.send('PUT', `/v2/${repository}/manifests/${reference}`, repository, { 'Content-Type': mediaType }, signal, { actions: PUSH, body: () => bytes });
  try {
    if (res.status !== 201) throw await client.statusError('PUT', url, res, repository, `manifest ${reference}`);
    await res.body?.cancel().catch(() => undefined);
    return res.headers.get('docker-content-digest') ?? undefined;
  } finally {
    deadline.clear();
  }
}
