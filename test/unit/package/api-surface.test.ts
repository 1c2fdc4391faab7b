// The public declarations (Bug 10): they import only Node's builtins, none of the driver, state store or portal
// modules, and every type a public signature names is exported from the entry. Reads dist/src (run the build first).
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { declarationGraph, entryDeclarations, isNodeBuiltin, REPO_ROOT, unexportedReferences } from '../../helpers/declarations.js';

/** Modules whose declarations must stay out of the public graph: the VMM driver, the state store, the portal, the jailer. */
const INTERNAL = [/^state\//, /^portal\//, /^jailer\//, /^vmm\/(driver|config|qemu\/|helper-process|launch-argv)/, /^images\/store\//, /^runtime\/(lifecycle|boot|templates|box-paths|helper-watch)\./];

describe('public declarations', () => {
  const entry = entryDeclarations(REPO_ROOT);
  const graph = declarationGraph(entry);

  it('import no module but Node builtins (no better-sqlite3, commander, tar-stream)', () => {
    const foreign = [...graph.externalModules].filter(([spec]) => !isNodeBuiltin(spec));
    assert.deepEqual(foreign, [], `the entry's declarations import ${foreign.map(([s, by]) => `${s} (from ${by.join(', ')})`).join('; ')}`);
  });

  it('reach none of the driver, store, portal or jailer declarations', () => {
    const rel = graph.files.map((f) => path.relative(path.dirname(entry), f));
    assert.deepEqual(rel.filter((f) => INTERNAL.some((re) => re.test(f))), []);
  });

  it('export every type their signatures name', () => {
    assert.deepEqual(unexportedReferences(entry), []);
  });
});
