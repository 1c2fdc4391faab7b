// Starting the box's DNS forwarder (dns-forwarder.ts) and telling it the box's domain rules.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { boxliteError } from '../../errors.js';
import type { ProcessIdentity } from '../../state/process-identity.js';
import { startHelper, type HelperProcess } from '../helper-process.js';
import type { ForwarderRules } from './dns-forwarder.js';
import { hostResolvers } from './nftables.js';
import { domainRules, type ResolvedEgress } from './policy.js';

const FORWARDER = fileURLToPath(new URL('./dns-forwarder.js', import.meta.url));
const READY_TIMEOUT_MS = 10_000;

/** The loopback address a box's forwarder listens on (port 53): 127.x.y.z from its table's name, never 127.0.0.x. */
export function dnsListenAddress(table: string): string {
  const h = crypto.createHash('sha256').update(table).digest();
  return `127.${1 + (h[0]! % 254)}.${h[1]}.${1 + (h[2]! % 254)}`;
}

/** Whether a policy needs the forwarder (it has domain rules). */
export function needsForwarder(egress: ResolvedEgress): boolean {
  const names = domainRules(egress);
  return names.allow.length + names.deny.length > 0;
}

/**
 * Domain rules need the forwarder, and passt learns where it is from the resolv.conf bound into its jail: a policy
 * with them under security options without the jailer's chroot is InvalidArgument, at create and at update.
 */
export function checkForwarderPossible(egress: ResolvedEgress, security: { jailerEnabled: boolean; chrootEnabled: boolean }): void {
  if (!needsForwarder(egress) || (security.jailerEnabled && security.chrootEnabled)) return;
  throw boxliteError('InvalidArgument', 'domain rules in network egress need the jailer\'s chroot (security.jailerEnabled and chrootEnabled, as in SecurityOptions.standard()): passt learns where to send the box\'s DNS from the resolv.conf in its jail; use address rules, or the standard security options');
}

/** Writes what the forwarder follows (temp file, then rename: it reads the file at each lookup). */
export function writeForwarderRules(file: string, table: string, egress: ResolvedEgress): void {
  const rules: ForwarderRules = { table, ...domainRules(egress), upstreams: hostResolvers() };
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(rules), { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

/** Starts a box's forwarder on `listen`:53 and waits until it listens; a Network error with its words if it cannot. */
export function startDnsForwarder(o: { listen: string; readyFile: string; rulesFile: string; detached: boolean; onSpawn?(p: ProcessIdentity): void }): Promise<HelperProcess> {
  return startHelper({
    command: process.execPath, args: [FORWARDER, o.listen, o.readyFile, o.rulesFile], socketPath: o.readyFile, detached: o.detached,
    timeoutMs: READY_TIMEOUT_MS, ...(o.onSpawn ? { onSpawn: o.onSpawn } : {}),
    failure: (f) => {
      const said = f.kind === 'spawn' ? f.error.message : f.kind === 'exited' ? `exited with ${f.how}: ${f.stderr.trim()}` : 'no answer within 10 s';
      const hint = /EADDRINUSE/.test(said) ? '; a DNS server on this host listens on port 53 of every address (0.0.0.0:53): bind it to its own addresses, or use address rules instead of names' : '';
      return boxliteError('Network', `the box's DNS forwarder (for its domain rules) did not start on ${o.listen}:53: ${said}${hint}`);
    },
  });
}
