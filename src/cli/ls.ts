// `boxlite ls` (alias `ps`): lists boxes (running ones, or all with -a), as a table or JSON.
import type { Command } from 'commander';
import type { BoxInfo } from '../runtime/status.js';
import { openRuntime } from './shared.js';

/** Adds the `ls` subcommand (and its alias `ps`). */
export function registerLs(program: Command): void {
  program.command('ls').alias('ps')
    .description('list boxes')
    .option('-a, --all', 'include boxes that are not running')
    .option('--json', 'print JSON')
    .action(async (flags: { all?: boolean; json?: boolean }) => {
      const runtime = openRuntime(program);
      try {
        const infos = (await runtime.listInfo()).filter((i) => flags.all || i.status.isActive() || i.status.isPaused());
        process.stdout.write(flags.json ? `${JSON.stringify(infos, null, 2)}\n` : table(infos));
      } finally {
        await runtime.close();
      }
    });
}

function table(infos: BoxInfo[]): string {
  const rows = [['ID', 'NAME', 'STATUS', 'CPUS', 'MEMORY', 'PID', 'CREATED', 'PORTS', 'IMAGE']];
  for (const i of infos) {
    const ports = i.ports.map((p) => `${p.hostIp}:${p.hostPort || '*'}->${p.guestPort}/${p.protocol}`).join(',');
    rows.push([i.id.short(), i.name ?? '', i.status.name, String(i.cpus), `${i.memoryMib} MiB`, i.pid ? String(i.pid) : '', ago(i.createdAt), ports, i.image]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n') + '\n';
}

function ago(d: Date): string {
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}
