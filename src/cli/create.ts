// `boxlite create [IMAGE]`: creates a box without running anything (as `docker create`) and prints its id.
import type { Command } from 'commander';
import { boxliteError } from '../errors.js';
import type { BoxOptions } from '../runtime/options.js';
import { parsePublishFlag } from '../runtime/ports.js';
import { parseSecurityFlag } from '../runtime/security.js';
import { parseVolumeFlag } from '../runtime/volumes.js';
import type { AcceleratorPreference } from '../vmm/accel.js';
import { parseNetworkFlags } from '../vmm/network/policy.js';
import { intFlag, openRuntime, repeatable, splitEnv } from './shared.js';

/** The flags of `create` (the box flags of `run`, and `--rm`). */
export interface CreateFlags {
  image?: string; rootfs?: string; env: string[]; label: string[]; workdir?: string; name?: string; cpus?: string; memory?: string;
  accel?: AcceleratorPreference; publish: string[]; volume: string[]; net?: string; allow: string[]; deny: string[]; security?: string; rm?: boolean;
}

/**
 * The BoxOptions of `create`'s flags: the image from the argument or `--image`, or `--rootfs`; detached (it outlives
 * this process, so a later `boxlite start` keeps it running) and kept when stopped unless `--rm`. InvalidArgument
 * naming the flag otherwise.
 */
export function createOptions(imageArg: string | undefined, flags: CreateFlags): BoxOptions {
  const sources = [imageArg, flags.image, flags.rootfs].filter((s) => s !== undefined);
  if (sources.length !== 1) throw boxliteError('InvalidArgument', `give exactly one of IMAGE, --image <ref> or --rootfs <dir>, got ${sources.length}`);
  const network = parseNetworkFlags(flags.net, flags.allow, flags.deny);
  return {
    rootfs: flags.rootfs !== undefined ? { rootfsPath: flags.rootfs } : { image: (imageArg ?? flags.image)! },
    cpus: intFlag('--cpus', flags.cpus),
    memoryMib: intFlag('--memory', flags.memory),
    ...(flags.workdir !== undefined ? { workingDir: flags.workdir } : {}),
    ...(flags.accel !== undefined ? { accelerator: flags.accel } : {}),
    env: flags.env.map(splitEnv),
    labels: Object.fromEntries(flags.label.map(splitEnv)),
    ports: flags.publish.map(parsePublishFlag),
    volumes: flags.volume.map(parseVolumeFlag),
    security: parseSecurityFlag(flags.security),
    ...(network ? { network } : {}),
    detach: true,
    autoRemove: Boolean(flags.rm),
  };
}

/** Adds the `create` subcommand. */
export function registerCreate(program: Command): void {
  program.command('create')
    .description('create a box without starting it (start it with `boxlite start`, run in it with `boxlite exec`); prints its id')
    .argument('[image]', 'OCI image to boot (pulled at the first start), as --image')
    .option('--image <ref>', 'OCI image to boot (pulled if needed)')
    .option('--rootfs <dir>', 'directory holding the root filesystem (instead of an image)')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable of every command (repeatable)', repeatable, [])
    .option('-l, --label <KEY=VALUE>', 'set a label (repeatable)', repeatable, [])
    .option('-w, --workdir <dir>', 'default working directory of commands')
    .option('--name <name>', 'box name')
    .option('--cpus <n>', 'virtual CPUs')
    .option('--memory <mib>', 'memory in MiB')
    .option('--accel <auto|kvm|tcg>', 'accelerator')
    .option('-v, --volume <host:guest[:ro]>', 'share a host directory into the box (repeatable; :ro = read-only)', repeatable, [])
    .option('--security <preset>', 'isolation of the box\'s host processes: development, standard (default) or maximum')
    .option('--net <none|public|all>', 'what the box may reach: nothing, the internet (default), or all the host reaches but its loopback')
    .option('--allow <rule>', 'reach only what these rules allow: CIDR or address[:port][/tcp|udp|icmp] (repeatable)', repeatable, [])
    .option('--deny <rule>', 'never reach what these rules name (repeatable; wins over --allow)', repeatable, [])
    .option('-p, --publish <[ip:]host:guest[/udp]>', 'publish a box port on the host (repeatable; host port empty or 0: any free port)', repeatable, [])
    .option('--rm', 'remove the box when it stops')
    .action(async (image: string | undefined, flags: CreateFlags) => {
      const options = createOptions(image, flags);
      const runtime = openRuntime(program);
      try {
        const box = await runtime.create(options, flags.name);
        process.stdout.write(`${box.id}\n`);
      } finally {
        await runtime.close();
      }
    });
}
