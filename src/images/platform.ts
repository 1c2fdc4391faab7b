// Platform selection: picking the linux/amd64 entry of a multi-platform index.
import { boxliteError } from '../errors.js';
import type { Descriptor, ImageIndex, Platform } from './manifest.js';

/** The platform boxes run: the guest is an x86-64 Linux VM. */
export const BOX_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

/** `os/arch[/variant]`, for messages. */
export function platformName(p: Platform | undefined): string {
  if (!p) return 'unknown';
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/**
 * The index entry for `want` (default linux/amd64), skipping attestation manifests (`unknown/unknown`).
 * When none matches: an Image error listing the platforms the index does have.
 */
export function selectPlatform(index: ImageIndex, where: string, want: Platform = BOX_PLATFORM): Descriptor {
  const match = index.manifests.filter((d) => d.platform?.os === want.os && d.platform?.architecture === want.architecture
    && (want.variant === undefined || d.platform?.variant === want.variant));
  // Prefer an entry with no variant (amd64 has none), then the first.
  const chosen = match.find((d) => !d.platform?.variant) ?? match[0];
  if (chosen) return chosen;
  const present = [...new Set(index.manifests.map((d) => platformName(d.platform)))];
  throw boxliteError('Image', `${where} has no ${platformName(want)} image (it has: ${present.join(', ') || 'no entries'}); boxes run ${platformName(want)}, so use an image built for it`);
}
