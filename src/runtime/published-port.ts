// The host address a published guest port is reachable at, from a box's info().ports.
import { boxliteError } from '../errors.js';
import type { BoxInfo } from './status.js';

/** Where on the host a published guest port is reachable. */
export interface PublishedPort {
  /** The address to connect to: the published host IP, or 127.0.0.1 when it listens on every address (0.0.0.0). */
  host: string;
  hostPort: number;
}

/**
 * @internal The host side of `guestPort`/`protocol` in `info`. InvalidArgument when the box does not publish it
 * (naming what it publishes); InvalidState when its host port is picked at start and the box is not running.
 */
export function publishedPort(info: BoxInfo, guestPort: number, protocol: 'tcp' | 'udp' = 'tcp'): PublishedPort {
  if (!Number.isInteger(guestPort) || guestPort < 1 || guestPort > 65535) {
    throw boxliteError('InvalidArgument', `guestPort must be an integer 1..65535, got ${guestPort}`);
  }
  if (protocol !== 'tcp' && protocol !== 'udp') throw boxliteError('InvalidArgument', `protocol must be "tcp" or "udp", got ${JSON.stringify(protocol)}`);
  const p = info.ports.find((x) => x.guestPort === guestPort && x.protocol === protocol);
  if (!p) {
    const published = info.ports.map((x) => `${x.guestPort}/${x.protocol}`).join(', ') || 'none';
    throw boxliteError('InvalidArgument', `guest port ${guestPort}/${protocol} is not published by box ${info.id} (published: ${published}); `
      + `add { guestPort: ${guestPort}${protocol === 'udp' ? ", protocol: 'udp'" : ''} } to its ports when creating it`);
  }
  if (p.hostPort === 0) {
    throw boxliteError('InvalidState', `guest port ${guestPort}/${protocol} of box ${info.id} gets its host port when the box starts, and the box is ${info.status}; start it first (or publish a fixed hostPort)`);
  }
  return { host: p.hostIp === '0.0.0.0' ? '127.0.0.1' : p.hostIp, hostPort: p.hostPort };
}
