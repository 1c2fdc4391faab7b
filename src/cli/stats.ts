// `boxlite stats [BOX...]`: a one-shot table (or JSON) of running boxes' metrics: CPU, memory, network, commands.
import type { Command } from 'commander';
import type { LiteBox } from '../runtime/box.js';
import type { BoxMetrics } from '../runtime/metrics.js';
import { formatBytes } from './images-progress.js';
import { findBox, openRuntime } from './shared.js';
import { printTable } from './table.js';

/** One box's line of `stats`. */
export interface StatsRow {
  id: string;
  name: string | undefined;
  status: string;
  metrics: BoxMetrics;
}

/** Adds the `stats` subcommand. */
export function registerStats(program: Command): void {
  program.command('stats')
    .description('print the CPU, memory, network and command counts of running boxes (or of the boxes named), once')
    .argument('[boxes...]', 'box ids, id prefixes or names (default: every running box)')
    .option('--json', 'print JSON')
    .action(async (ids: string[], flags: { json?: boolean }) => {
      const runtime = openRuntime(program);
      try {
        const boxes = ids.length > 0
          ? await Promise.all(ids.map((id) => findBox(runtime, id)))
          : (await Promise.all((await runtime.listInfo()).filter((i) => i.status.isActive()).map((i) => runtime.get(i.id.asStr())))).filter((b) => b !== undefined);
        const rows = await Promise.all(boxes.map(statsOf));
        if (flags.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        else printTable(statsTable(rows));
      } finally {
        await runtime.close();
      }
    });
}

// A running box is attached to (start() of a running box only connects), so the guest's network counters are read too.
async function statsOf(box: LiteBox): Promise<StatsRow> {
  const info = box.info();
  if (info.status.isRunning()) await box.start().catch(() => undefined); // all portal ports taken: no network counters
  return { id: box.id.asStr(), name: info.name, status: info.status.name, metrics: await box.metrics() };
}

/** The header and rows of the `stats` table. */
export function statsTable(rows: readonly StatsRow[]): string[][] {
  const or = <T>(v: T | undefined, f: (v: T) => string): string => (v === undefined ? '-' : f(v));
  return [['ID', 'NAME', 'STATUS', 'CPU %', 'MEMORY', 'NET RX / TX', 'TCP CONNS', 'REFUSED', 'COMMANDS', 'ERRORS'], ...rows.map(({ id, name, status, metrics: m }) => [
    id.slice(0, 8), name ?? '', status, or(m.cpuPercent, (v) => `${v.toFixed(1)}%`), or(m.memoryBytes, formatBytes),
    m.networkBytesReceived === undefined ? '-' : `${formatBytes(m.networkBytesReceived)} / ${formatBytes(m.networkBytesSent ?? 0)}`,
    or(m.networkTcpConnections, String), or(m.networkRefused, String), String(m.commandsRunTotal), String(m.runErrorsTotal),
  ])];
}
