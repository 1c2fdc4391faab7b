// `boxlite snapshot create|ls|restore|rm`: disk snapshots of a stopped box, over box.snapshots.
import type { Command } from 'commander';
import type { SnapshotInfo } from '../runtime/snapshots.js';
import { findBox, openRuntime } from './shared.js';
import { formatTable } from './table.js';

/** Adds `snapshot` and its subcommands. */
export function registerSnapshot(program: Command): void {
  const snapshot = program.command('snapshot').description('disk snapshots of a stopped box: create, ls, restore, rm');
  const withBox = async (idOrName: string, act: (box: Awaited<ReturnType<typeof findBox>>) => Promise<void>): Promise<void> => {
    const runtime = openRuntime(program);
    try {
      await act(await findBox(runtime, idOrName));
    } finally {
      await runtime.close();
    }
  };
  snapshot.command('create')
    .description("freeze a stopped box's disk under a name")
    .argument('<box>', 'box id, id prefix or name').argument('<name>', 'snapshot name')
    .action((idOrName: string, name: string) => withBox(idOrName, async (box) => {
      await box.snapshots.create(name);
      process.stdout.write(`${name}\n`);
    }));
  snapshot.command('ls')
    .description("list a box's snapshots, oldest first")
    .argument('<box>', 'box id, id prefix or name')
    .option('--json', 'print JSON')
    .action((idOrName: string, flags: { json?: boolean }) => withBox(idOrName, async (box) => {
      const list = await box.snapshots.list();
      process.stdout.write(flags.json ? `${JSON.stringify(list, null, 2)}\n` : table(list));
    }));
  snapshot.command('restore')
    .description("put a stopped box's disk back to a snapshot (what was written since is lost)")
    .argument('<box>', 'box id, id prefix or name').argument('<name>', 'snapshot name')
    .action((idOrName: string, name: string) => withBox(idOrName, async (box) => {
      await box.snapshots.restore(name);
      process.stdout.write(`${name}\n`);
    }));
  snapshot.command('rm')
    .description("remove a box's snapshot (the others stay restorable)")
    .argument('<box>', 'box id, id prefix or name').argument('<name>', 'snapshot name')
    .action((idOrName: string, name: string) => withBox(idOrName, async (box) => {
      await box.snapshots.remove(name);
      process.stdout.write(`${name}\n`);
    }));
}

function table(list: readonly SnapshotInfo[]): string {
  const mib = (b: number): string => `${(b / 1024 ** 2).toFixed(1)} MiB`;
  return formatTable([['NAME', 'CREATED', 'SIZE', 'VIRTUAL SIZE'], ...list.map((s) => [s.name, s.createdAt.toISOString(), mib(s.sizeBytes), mib(s.virtualSizeBytes)])]);
}
