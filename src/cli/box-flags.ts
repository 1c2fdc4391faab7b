// The flags that describe a new box (`run`, later `create`): their definitions, and the BoxOptions they give.
import type { Command } from 'commander';
import { boxliteError } from '../errors.js';
import type { BoxOptions } from '../runtime/options.js';
import { parsePublishFlag } from '../runtime/ports.js';
import { parseSecurityFlag } from '../runtime/security.js';
import { parseVolumeFlag } from '../runtime/volumes.js';
import type { AcceleratorPreference } from '../vmm/accel.js';
import { parseNetworkFlags } from '../vmm/network/policy.js';
import { commandEnv } from './command-flags.js';
import { intFlag, repeatable, splitEnv } from './shared.js';
import { parseDiskFlag, parseMemoryFlag } from './sizes.js';

/** The parsed box flags, as commander gives them. */
export interface BoxFlags {
  image?: string; rootfs?: string; env: string[]; envFile: string[]; label: string[]; workdir?: string; user?: string;
  name?: string; cpus?: string; memory?: string; disk?: string; accel?: AcceleratorPreference; publish: string[]; volume: string[];
  net?: string; allow: string[]; deny: string[]; security?: string;
}

/** Adds the box flags to `command`. */
export function addBoxFlags(command: Command): Command {
  return command
    .option('--image <ref>', 'OCI image to boot (pulled if needed), e.g. 127.0.0.1:5000/python:3; or give it as the first argument')
    .option('--rootfs <dir>', 'directory holding the root filesystem (instead of an image)')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable; a bare KEY takes its value here (repeatable)', repeatable, [])
    .option('--env-file <file>', 'read environment variables from a file of KEY=VALUE lines (repeatable; -e wins)', repeatable, [])
    .option('-l, --label <KEY=VALUE>', 'set a label (repeatable)', repeatable, [])
    .option('-w, --workdir <dir>', 'working directory inside the box')
    .option('-u, --user <user[:group]>', 'user (name or uid, optionally :group or :gid) commands run as (default root)')
    .option('--name <name>', 'box name')
    .option('--cpus <n>', 'virtual CPUs')
    .option('--memory <size>', 'memory: 512m, 2g (suffixes b, k, m, g; a bare number is MiB)')
    .option('--disk <size>', 'writable disk size: 10g, 20480m (whole GiB; a bare number is GiB)')
    .option('--accel <auto|kvm|tcg>', 'accelerator')
    .option('-v, --volume <host:guest[:ro]>', 'share a host directory into the box (repeatable; :ro = read-only)', repeatable, [])
    .option('--security <preset>', 'isolation of the box\'s host processes: development, standard (default) or maximum')
    .option('--net <none|public|all>', 'what the box may reach: nothing, the internet (default), or all the host reaches but its loopback')
    .option('--allow <rule>', 'reach only what these rules allow: CIDR or address[:port][/tcp|udp|icmp] (repeatable)', repeatable, [])
    .option('--deny <rule>', 'never reach what these rules name (repeatable; wins over --allow)', repeatable, [])
    .option('-p, --publish <[ip:]host:guest[/udp]>', 'publish a box port on the host (repeatable; host port empty or 0: any free port)', repeatable, []);
}

/**
 * The BoxOptions the flags describe (everything but `detach` and `autoRemove`, which belong to `run`). `image` is
 * one given as an argument; exactly one of it, `--image` and `--rootfs` is needed (InvalidArgument otherwise).
 */
export function boxOptionsFromFlags(flags: BoxFlags, image?: string): BoxOptions {
  const images = [image, flags.image].filter((i) => i !== undefined);
  if (images.length + (flags.rootfs === undefined ? 0 : 1) !== 1) {
    throw boxliteError('InvalidArgument', 'give exactly one image or root filesystem: `boxlite run IMAGE -- CMD`, `--image <ref>` or `--rootfs <dir>`');
  }
  const network = parseNetworkFlags(flags.net, flags.allow, flags.deny);
  const security = parseSecurityFlag(flags.security);
  return {
    rootfs: images.length ? { image: images[0]! } : { rootfsPath: flags.rootfs! },
    cpus: intFlag('--cpus', flags.cpus),
    ...(flags.memory !== undefined ? { memoryMib: parseMemoryFlag(flags.memory) } : {}),
    ...(flags.disk !== undefined ? { diskSizeGb: parseDiskFlag(flags.disk) } : {}),
    ...(flags.workdir !== undefined ? { workingDir: flags.workdir } : {}),
    ...(flags.user !== undefined ? { user: flags.user } : {}),
    accelerator: flags.accel,
    env: commandEnv(flags),
    labels: Object.fromEntries(flags.label.map(splitEnv)),
    ports: flags.publish.map(parsePublishFlag),
    volumes: flags.volume.map(parseVolumeFlag),
    security,
    ...(network ? { network } : {}),
  };
}
