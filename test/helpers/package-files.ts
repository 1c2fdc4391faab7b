// Checks that a package dir is self-contained: the paths package.json names, its source maps' sources, and the
// relative links of its markdown all resolve to files inside it.
import fs from 'node:fs';
import path from 'node:path';

/** Every file under `dir` (relative paths). */
function filesOf(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile());
}

/** What package.json's main, types, bin and exports name that is not in the package. */
export function missingEntryPoints(pkgDir: string): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as Record<string, unknown>;
  const named: string[] = [];
  const collect = (v: unknown): void => {
    if (typeof v === 'string') named.push(v);
    else if (v && typeof v === 'object') Object.values(v).forEach(collect);
  };
  [pkg.main, pkg.types, pkg.bin, pkg.exports].forEach(collect);
  return named.filter((p) => !fs.existsSync(path.join(pkgDir, p)));
}

/** `map → source` for every source of every .js.map in the package that does not exist in it. */
export function deadSourceMapSources(pkgDir: string): string[] {
  const dead: string[] = [];
  for (const rel of filesOf(pkgDir).filter((f) => f.endsWith('.map'))) {
    const map = JSON.parse(fs.readFileSync(path.join(pkgDir, rel), 'utf8')) as { sources: string[]; sourceRoot?: string };
    for (const s of map.sources) {
      const target = path.resolve(path.dirname(path.join(pkgDir, rel)), map.sourceRoot ?? '', s);
      if (!fs.existsSync(target) || path.relative(pkgDir, target).startsWith('..')) dead.push(`${rel} → ${s}`);
    }
  }
  return dead;
}

/**
 * `file: link` for each relative markdown link of the package's .md files, and each `docs/….md` its README names in
 * backticks, that resolves to nothing in it (docs/ may name other projects' docs in backticks, so only the README's count).
 */
export function deadDocLinks(pkgDir: string): string[] {
  const dead: string[] = [];
  for (const rel of filesOf(pkgDir).filter((f) => f.endsWith('.md') && !f.startsWith('node_modules'))) {
    const text = fs.readFileSync(path.join(pkgDir, rel), 'utf8');
    const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => ({ target: m[1]!, from: path.dirname(rel) }));
    const mentions = rel !== 'README.md' ? [] : [...text.matchAll(/`(docs\/[\w.-]+\.md)(?:#[\w-]+)?`/g)].map((m) => ({ target: m[1]!, from: '.' }));
    for (const { target, from } of [...links, ...mentions]) {
      if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
      const file = path.resolve(pkgDir, from, target.split('#')[0]!);
      if (!fs.existsSync(file) || path.relative(pkgDir, file).startsWith('..')) dead.push(`${rel}: ${target}`);
    }
  }
  return dead;
}
