// A box's network policy over its life: the current one (as created, or as updateNetwork set it), and enforcing it.
import { boxliteError } from '../errors.js';
import type { BoxRecord } from '../state/box-store.js';
import { applyRuleset, hostResolvers, policyTable, removeRuleset, renderRuleset } from '../vmm/network/nftables.js';
import { egressPolicyOf, type EgressPolicy, type ResolvedEgress } from '../vmm/network/policy.js';
import { createdEgress, type ResolvedBoxOptions } from './options.js';

/** What is kept of a box's network in its row (`network_json`): its current policy, and the uid its passt runs as. */
export interface NetworkState {
  egress: EgressPolicy;
  /** The uid the policy's table matches (the box's passt); undefined before the first start, or for an ordinary user. */
  uid?: number;
}

/** The current network state of a box. */
export function networkStateOf(rec: BoxRecord): NetworkState {
  if (rec.networkJson) return JSON.parse(rec.networkJson) as NetworkState;
  return { egress: createdEgress(JSON.parse(rec.optionsJson) as ResolvedBoxOptions) };
}

/**
 * Installs (or replaces) the table that enforces `egress` for the passt of box `boxId`, running as `uid`. Without
 * a uid of its own (an ordinary user's box), only `all` (nothing to enforce) can be had: Config error otherwise.
 */
export async function enforceEgress(homeDir: string, boxId: string, uid: number | undefined, egress: ResolvedEgress, dnsVia?: string): Promise<void> {
  if (egress.mode === 'none') return;
  if (uid === undefined) {
    if (egress.mode === 'all') return;
    throw boxliteError('Config', `network egress ${JSON.stringify(egressPolicyOf(egress))} cannot be enforced here: the policy is an nftables table matching the box's own passt uid, which needs root (this process is uid ${process.getuid?.()}); run as root, or create the box with network: { egress: 'all' } (no policy) or { egress: 'none' } (no network)`);
  }
  const table = policyTable(homeDir, boxId);
  // The box's DNS goes to its forwarder when it has one, else straight to the host's resolvers.
  await applyRuleset(table, renderRuleset(table, uid, egress, dnsVia ? [dnsVia] : hostResolvers(), dnsVia !== undefined));
}

/** Removes a box's policy table (when it stops, or is removed). */
export function releaseEgress(homeDir: string, boxId: string): void {
  removeRuleset(policyTable(homeDir, boxId));
}
