// `boxlite run`: creates a box, runs one command in it with its I/O attached, and exits with its exit code.
import type { Command } from 'commander';
import { boxliteError } from '../errors.js';
import { BoxCommand } from '../runtime/command.js';
import { parsePublishFlag } from '../runtime/ports.js';
import { parseSecurityFlag } from '../runtime/security.js';
import { parseVolumeFlag } from '../runtime/volumes.js';
import { parseNetworkFlags } from '../vmm/network/policy.js';
import type { AcceleratorPreference } from '../vmm/accel.js';
import { runKept } from './keep-spawn.js';
import { attach, intFlag, openRuntime, repeatable, splitEnv } from './shared.js';

interface RunFlags {
  rootfs?: string; image?: string; env: string[]; label: string[]; workdir?: string; tty?: boolean; interactive?: boolean; detach?: boolean;
  rm?: boolean; cpus?: string; memory?: string; name?: string; accel?: AcceleratorPreference; timeout?: string; publish: string[]; volume: string[];
  net?: string; allow: string[]; deny: string[];
  security?: string;
}

/** Adds the `run` subcommand. */
export function registerRun(program: Command): void {
  program.command('run')
    .description('run a command in a new box (removed afterwards unless -d or --no-rm)')
    .option('--image <ref>', 'OCI image to boot (pulled if needed), e.g. 127.0.0.1:5000/python:3')
    .option('--rootfs <dir>', 'directory holding the root filesystem (instead of --image)')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', repeatable, [])
    .option('-l, --label <KEY=VALUE>', 'set a label (repeatable)', repeatable, [])
    .option('-w, --workdir <dir>', 'working directory inside the box')
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .option('-i, --interactive', 'forward standard input')
    .option('-d, --detach', 'start the command in a detached box, print the box id, and leave it running')
    .option('--no-rm', 'keep the box (stopped) after the command ends')
    .option('--name <name>', 'box name')
    .option('--cpus <n>', 'virtual CPUs')
    .option('--memory <mib>', 'memory in MiB')
    .option('--accel <auto|kvm|tcg>', 'accelerator')
    .option('--timeout <ms>', 'kill the command after this many milliseconds')
    .option('-v, --volume <host:guest[:ro]>', 'share a host directory into the box (repeatable; :ro = read-only)', repeatable, [])
    .option('--security <preset>', 'isolation of the box\'s host processes: development, standard (default) or maximum')
    .option('--net <none|public|all>', 'what the box may reach: nothing, the internet (default), or all the host reaches but its loopback')
    .option('--allow <rule>', 'reach only what these rules allow: CIDR or address[:port][/tcp|udp|icmp] (repeatable)', repeatable, [])
    .option('--deny <rule>', 'never reach what these rules name (repeatable; wins over --allow)', repeatable, [])
    .option('-p, --publish <[ip:]host:guest[/udp]>', 'publish a box port on the host (repeatable; host port empty or 0: any free port)', repeatable, [])
    .argument('<command...>', 'command and arguments (put them after --)')
    .action(async (argv: string[], flags: RunFlags) => {
      if (Boolean(flags.image) === Boolean(flags.rootfs)) {
        throw boxliteError('InvalidArgument', 'give exactly one of --image <ref> or --rootfs <dir>');
      }
      // The command is checked before the box is made, so a bad --timeout or -w leaves no box behind.
      const cmd = new BoxCommand(argv[0]!).args(argv.slice(1)).tty(Boolean(flags.tty));
      if (flags.workdir !== undefined) cmd.workingDir(flags.workdir);
      if (flags.timeout !== undefined) cmd.timeout(intFlag('--timeout', flags.timeout)!);
      const network = parseNetworkFlags(flags.net, flags.allow, flags.deny);
      const security = parseSecurityFlag(flags.security);
      const runtime = openRuntime(program);
      try {
        const box = await runtime.create({
          rootfs: flags.image ? { image: flags.image } : { rootfsPath: flags.rootfs! },
          cpus: intFlag('--cpus', flags.cpus),
          memoryMib: intFlag('--memory', flags.memory),
          accelerator: flags.accel,
          env: flags.env.map(splitEnv),
          labels: Object.fromEntries(flags.label.map(splitEnv)),
          detach: Boolean(flags.detach),
          autoRemove: !flags.detach && flags.rm !== false,
          ports: flags.publish.map(parsePublishFlag),
          volumes: flags.volume.map(parseVolumeFlag),
          security,
          ...(network ? { network } : {}),
        }, flags.name);
        // A box whose command never started is removed, detached or not (unless --no-rm): nothing of it ran. A
        // start that failed has already removed an auto-remove box; this covers -d and a command that cannot start.
        const execution = await (flags.detach ? runKept(runtime.homeDir, box, cmd) : box.run(cmd)).catch(async (err: unknown) => {
          if (flags.rm !== false) await runtime.remove(box.id.asStr(), true).catch(() => undefined);
          throw err;
        });
        for (const p of box.info().ports) process.stderr.write(`published ${p.hostIp}:${p.hostPort} -> ${p.guestPort}/${p.protocol}\n`);
        if (flags.detach) {
          process.stdout.write(`${box.id}\n`);
          return;
        }
        process.exitCode = await attach(execution!, Boolean(flags.interactive) || (Boolean(flags.tty) && process.stdin.isTTY === true), Boolean(flags.tty));
        await box.stop();
      } finally {
        await runtime.close();
      }
    });
}
