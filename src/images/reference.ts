// Image references: parsing and normalising them the way Docker does, and the registries an unqualified name is tried on.
import { boxliteError } from '../errors.js';

/** The registry Docker Hub images live on, and the one every unqualified name falls back to. */
export const DOCKER_HUB = 'docker.io';

/** A fully qualified image reference: `registry/repository[:tag][@sha256:hex]`. */
export class ImageReference {
  /** Registry host, with port if any (`docker.io`, `127.0.0.1:5000`, `[::1]:5000`). */
  readonly registry: string;
  /** Repository path inside the registry (`library/alpine`). */
  readonly repository: string;
  /** Tag; `latest` when neither a tag nor a digest was given. */
  readonly tag: string | undefined;
  /** Content digest (`sha256:<64 hex>`), which wins over the tag when both are given. */
  readonly digest: string | undefined;

  constructor(registry: string, repository: string, tag?: string, digest?: string) {
    this.registry = registry;
    this.repository = repository;
    this.tag = tag ?? (digest === undefined ? 'latest' : undefined);
    this.digest = digest;
  }

  /** The registry host and repository (`docker.io/library/alpine`). */
  get name(): string {
    return `${this.registry}/${this.repository}`;
  }

  /** What to ask the registry's manifest endpoint for: the digest when known, else the tag. */
  get manifestKey(): string {
    return this.digest ?? this.tag ?? 'latest';
  }

  /** The normalised form (`docker.io/library/alpine:latest`, `host:5000/a/b@sha256:...`). */
  toString(): string {
    return `${this.name}${this.tag ? `:${this.tag}` : ''}${this.digest ? `@${this.digest}` : ''}`;
  }

  /** The same repository pinned to `digest` (tag kept, for display). */
  withDigest(digest: string): ImageReference {
    return new ImageReference(this.registry, this.repository, this.tag, digest);
  }
}

/** A reference split into its parts, before a registry is chosen for an unqualified name. */
export interface ParsedReference {
  /** The registry named in the reference, or undefined for an unqualified name (`alpine`, `myorg/app`). */
  domain: string | undefined;
  path: string;
  tag: string | undefined;
  digest: string | undefined;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST_PART = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const MAX_NAME = 255;

/** Splits `input` into domain, path, tag and digest; rejects (InvalidArgument) anything Docker would reject. */
export function parseReference(input: string): ParsedReference {
  const bad = (why: string): never => {
    throw boxliteError('InvalidArgument', `invalid image reference ${JSON.stringify(input)}: ${why}; use a form such as alpine, alpine:3.20, ghcr.io/org/app:tag, 127.0.0.1:5000/repo@sha256:<64 hex>`);
  };
  if (typeof input !== 'string' || input === '') bad('it is empty');
  if (input !== input.trim() || /\s/.test(input)) bad('it contains whitespace');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) bad(`digest ${JSON.stringify(digest)} is not sha256:<64 lowercase hex digits>`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) bad(`tag ${JSON.stringify(tag)} must be 1-128 of [A-Za-z0-9_.-], not starting with . or -`);
  }
  let domain: string | undefined;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      domain = first;
      rest = rest.slice(slash + 1);
      if (!validDomain(domain)) bad(`registry ${JSON.stringify(domain)} is not a valid host[:port]`);
    }
  }
  if (rest === '') bad('the repository name is empty');
  // Docker would take a capitalised first component ("UPPER/case") for a registry host; no registry is named so
  // (a host needs a "." or ":port", or is localhost), so it is the repository, which must be lowercase.
  for (const part of rest.split('/')) {
    if (part !== part.toLowerCase()) bad(`repository name ${JSON.stringify(rest)} must be lowercase (a registry host has a "." or ":port", or is localhost)`);
    if (!COMPONENT.test(part)) bad(`repository path component ${JSON.stringify(part)} must be lowercase letters and digits, separated by ".", "_", "__" or "-"`);
  }
  if ((domain ? domain.length + 1 : 0) + rest.length > MAX_NAME) bad(`the name is longer than ${MAX_NAME} characters`);
  return { domain, path: rest, tag, digest };
}

/** True for `host`, `host:port`, `[ipv6]` and `[ipv6]:port`. */
function validDomain(domain: string): boolean {
  let host = domain;
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(domain);
  if (v6) return v6[2] === undefined || validPort(v6[2]);
  const colon = domain.lastIndexOf(':');
  if (colon >= 0) {
    if (!validPort(domain.slice(colon + 1))) return false;
    host = domain.slice(0, colon);
  }
  return host.split('.').every((p) => HOST_PART.test(p));
}

function validPort(p: string): boolean {
  return /^\d{1,5}$/.test(p) && Number(p) > 0 && Number(p) < 65536;
}

/** Builds the reference for `path` on `registry` (a host, or a `host/namespace` prefix), applying Docker Hub's `library/`. */
function qualify(prefix: string, parsed: ParsedReference): ImageReference {
  const slash = prefix.indexOf('/');
  let registry = slash < 0 ? prefix : prefix.slice(0, slash);
  const namespace = slash < 0 ? '' : prefix.slice(slash + 1).replace(/\/+$/, '');
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DOCKER_HUB;
  let repository = namespace ? `${namespace}/${parsed.path}` : parsed.path;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  return new ImageReference(registry, repository, parsed.tag, parsed.digest);
}

/**
 * The fully qualified references `input` stands for, in the order to try them: a qualified name gives exactly
 * one; an unqualified one gives one per entry of `imageRegistries` (hosts or `host/namespace` prefixes), then Docker Hub.
 */
export function resolveReference(input: string, imageRegistries: readonly string[] = []): ImageReference[] {
  const parsed = parseReference(input);
  if (parsed.domain !== undefined) return [qualify(parsed.domain, parsed)];
  const out: ImageReference[] = [];
  for (const prefix of [...imageRegistries, DOCKER_HUB]) {
    const ref = qualify(validRegistryPrefix(prefix), parsed);
    if (!out.some((r) => r.toString() === ref.toString())) out.push(ref);
  }
  return out;
}

/** Checks one `imageRegistries` entry (`host[:port]` or `host[:port]/namespace`); InvalidArgument otherwise. */
export function validRegistryPrefix(prefix: string): string {
  const slash = prefix.indexOf('/');
  const host = slash < 0 ? prefix : prefix.slice(0, slash);
  const ns = slash < 0 ? '' : prefix.slice(slash + 1).replace(/\/+$/, '');
  if (!validDomain(host) || (ns !== '' && !ns.split('/').every((p) => COMPONENT.test(p)))) {
    throw boxliteError('InvalidArgument', `imageRegistries entry ${JSON.stringify(prefix)} is not a registry host[:port] or host[:port]/namespace (e.g. "ghcr.io/myorg")`);
  }
  return prefix;
}

/** Checks a registry `host[:port]` (an `insecureRegistries` entry, say); InvalidArgument naming `field` otherwise. */
export function validRegistryHost(host: unknown, field: string): string {
  if (typeof host !== 'string' || !validDomain(host)) {
    throw boxliteError('InvalidArgument', `${field} entry ${JSON.stringify(host)} is not a registry host or host:port (e.g. "registry.internal:5000")`);
  }
  return host;
}

/** Normalises `input` as Docker does, with Docker Hub for an unqualified name (`alpine` → `docker.io/library/alpine:latest`). */
export function normalizeReference(input: string): ImageReference {
  return resolveReference(input)[0]!;
}

/** True for `sha256:<64 hex>`. */
export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}
