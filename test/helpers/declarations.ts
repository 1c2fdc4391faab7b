// Reads the built declarations of the package: the .d.ts files reachable from its entry, the modules they import,
// and the types public signatures name that the entry does not export.
import { builtinModules } from 'node:module';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The repository root (dist/test/helpers → ../../..). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The entry declarations of a package root (what package.json's `types` names). */
export const entryDeclarations = (packageDir: string): string => {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { types: string };
  return path.resolve(packageDir, pkg.types);
};

/** The .d.ts files reachable from `entry` through relative imports, and every other module they import. */
export function declarationGraph(entry: string): { files: string[]; externalModules: Map<string, string[]> } {
  const files: string[] = [];
  const externalModules = new Map<string, string[]>();
  const visit = (file: string): void => {
    if (files.includes(file)) return;
    files.push(file);
    const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    const specs = [...info.importedFiles, ...info.typeReferenceDirectives, ...info.libReferenceDirectives.map((l) => ({ fileName: `lib:${l.fileName}` }))];
    for (const { fileName: spec } of specs) {
      if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.d.ts')));
      else externalModules.set(spec, [...(externalModules.get(spec) ?? []), path.relative(path.dirname(entry), file)]);
    }
  };
  visit(entry);
  return { files, externalModules };
}

/** True for `node:x` and Node's builtin module names (what a consumer's @types/node declares). */
export function isNodeBuiltin(spec: string): boolean {
  return spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0]!) || spec === 'node';
}

/**
 * Names (with their file) of package types and values that the entry's exports mention in their signatures but the
 * entry does not export: a consumer could receive such a value but not name its type. Private members are skipped.
 */
export function unexportedReferences(entry: string): string[] {
  const program = ts.createProgram([entry], {
    noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022, lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts'], types: ['node'], skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const root = path.dirname(entry);
  const resolve = (s: ts.Symbol): ts.Symbol => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  const exported = new Set(checker.getExportsOfModule(moduleSymbol).map(resolve));
  const missing = new Set<string>();
  const seen = new Set<ts.Node>();
  const inPackage = (d: ts.Declaration): boolean => !path.relative(root, d.getSourceFile().fileName).startsWith('..');
  const referenced = (symbol: ts.Symbol | undefined): void => {
    if (!symbol) return;
    const s = resolve(symbol);
    for (const d of s.declarations ?? []) {
      if (!inPackage(d) || ts.isTypeParameterDeclaration(d)) continue;
      if (!exported.has(s)) missing.add(`${s.name} (${path.relative(root, d.getSourceFile().fileName)})`);
      visit(d);
    }
  };
  const visit = (node: ts.Node): void => {
    if (seen.has(node)) return;
    seen.add(node);
    if (ts.canHaveModifiers(node) && ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword)) return;
    if (ts.isTypeReferenceNode(node)) referenced(checker.getSymbolAtLocation(node.typeName));
    else if (ts.isExpressionWithTypeArguments(node)) referenced(checker.getSymbolAtLocation(node.expression));
    else if (ts.isTypeQueryNode(node)) referenced(checker.getSymbolAtLocation(node.exprName));
    else if (ts.isImportTypeNode(node)) referenced(checker.getTypeFromTypeNode(node).aliasSymbol ?? checker.getTypeFromTypeNode(node).symbol);
    ts.forEachChild(node, visit);
  };
  for (const s of exported) for (const d of s.declarations ?? []) visit(d);
  return [...missing].sort();
}
