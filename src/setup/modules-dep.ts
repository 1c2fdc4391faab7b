// Reads kernel module files, and writes the modules.dep that Debian's package leaves to depmod at install time.
import fs from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { boxliteError } from '../errors.js';
import { Elf64 } from './elf.js';
import { moduleName, type WantedModule } from './module-order.js';
import { runTool } from './run-tool.js';

/** The bytes of a module file, decompressed when it is a `.ko.xz`, `.ko.zst` or `.ko.gz`. */
export async function readModule(file: string, signal?: AbortSignal): Promise<Buffer> {
  const data = await fs.readFile(file);
  if (file.endsWith('.ko.gz')) return zlib.gunzipSync(data);
  if (file.endsWith('.ko.xz')) return (await runTool('xz', ['-dc'], { input: data, signal, hint: `decompressing ${file}` })).stdout;
  if (file.endsWith('.ko.zst')) return (await runTool('zstd', ['-dcq'], { input: data, signal, hint: `decompressing ${file}` })).stdout;
  return data;
}

/** The `depends=` names in a module's .modinfo section. */
export function modinfoDepends(ko: Buffer, label: string): string[] {
  const info = Elf64.parse(ko, label).section('.modinfo');
  if (!info) throw boxliteError('Config', `${label} has no .modinfo section; is it a kernel module?`);
  const field = info.toString('latin1').split('\0').find((f) => f.startsWith('depends='));
  return (field?.slice('depends='.length) ?? '').split(',').filter(Boolean);
}

/**
 * Builds modules.dep text for the wanted modules and everything they depend on, from the modules' own
 * `depends=` fields (what depmod derives too). Modules not in the tree (built in, or optional and absent) are left out.
 */
export async function buildModulesDep(moduleDir: string, wanted: readonly WantedModule[], signal?: AbortSignal): Promise<string> {
  const files = new Map<string, string>();
  for (const rel of await fs.readdir(moduleDir, { recursive: true })) {
    if (/\.ko(\.(xz|zst|gz))?$/.test(rel)) files.set(moduleName(rel), rel.split(path.sep).join('/'));
  }
  const lines: string[] = [];
  const seen = new Set<string>();
  const queue = wanted.map((w) => moduleName(w.name));
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    const rel = files.get(name);
    if (seen.has(name) || rel === undefined) continue;
    seen.add(name);
    const file = path.join(moduleDir, rel);
    const deps = modinfoDepends(await readModule(file, signal), file).map(moduleName);
    const depPaths = deps.map((d) => {
      const p = files.get(d);
      if (p === undefined) throw boxliteError('Config', `${file} depends on module "${d}", which is not in ${moduleDir}`);
      return p;
    });
    lines.push(`${rel}: ${depPaths.join(' ')}`.trimEnd());
    queue.push(...deps);
  }
  return lines.join('\n') + '\n';
}
