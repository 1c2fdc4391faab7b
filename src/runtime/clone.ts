// runtime.clone(): a new box with a stopped box's options and a copy of its disk that shares the unchanged blocks.
import fs from 'node:fs';
import { boxliteError } from '../errors.js';
import type { BoxRecord, BoxStore } from '../state/box-store.js';
import { networkStateOf, type NetworkState } from './box-network.js';
import { cheapDiskCopy } from './disk-copy.js';
import { BoxID, ContainerID } from './ids.js';
import type { BoxLifecycle } from './lifecycle.js';
import { validateBoxName } from './options.js';
import { sweepLayers } from './layer-upkeep.js';

/**
 * Clones box `sourceId` (stopped or configured, held under its lock meanwhile) into a new Configured box named
 * `name`: same options, its base disk shared as before, its writable disk a cheap copy (cheapDiskCopy). The
 * snapshots of the source are not copied. A failure leaves no new box and the source as it was (its disk may have
 * become an overlay that reads the same).
 */
export async function cloneBox(store: BoxStore, lifecycle: BoxLifecycle, sourceId: string, name: string | undefined): Promise<BoxRecord> {
  validateBoxName(name);
  return lifecycle.whileIdle(sourceId, 'clone', ['configured', 'stopped'], async (src) => {
    if (name !== undefined && store.list().some((r) => r.name === name)) {
      throw boxliteError('AlreadyExists', `a box named ${JSON.stringify(name)} already exists; pick another name or remove that box first`);
    }
    const id = BoxID.generate().asStr();
    const from = lifecycle.paths(src.id);
    const to = lifecycle.paths(id);
    await fs.promises.mkdir(to.dir, { recursive: true, mode: 0o700 });
    try {
      await sweepLayers(from);
      // A rootfs box's base disk is a link of the one cached for its tree: one more name, shared as it is today.
      if (fs.existsSync(from.baseDisk)) await fs.promises.link(from.baseDisk, to.baseDisk);
      await cheapDiskCopy(from, to);
      const now = Date.now();
      store.insert({
        id, name, status: 'configured', optionsJson: src.optionsJson, image: src.image, cpus: src.cpus, memoryMib: src.memoryMib, labels: src.labels,
        createdAt: now, lastUpdated: now, vmm: undefined, bootId: undefined, containerId: ContainerID.generate().asStr(),
        accelerator: undefined, lastError: undefined, detach: src.detach, autoRemove: src.autoRemove, owner: undefined, lockOwner: undefined,
        timingsJson: undefined, imageDigest: src.imageDigest, imageConfigJson: src.imageConfigJson, portsJson: undefined, jailJson: undefined,
        // The network policy as it is now (updateNetwork may have changed it), not the uid of the source's passt.
        networkJson: JSON.stringify({ egress: networkStateOf(src).egress } satisfies NetworkState),
        commandsRun: 0, runErrors: 0, bytesSent: 0, bytesReceived: 0,
      });
    } catch (err) {
      await to.remove();
      throw err;
    }
    return store.get(id)!;
  });
}
