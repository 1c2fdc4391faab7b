// The languages CodeBox runs: how each reads code from stdin, installs packages, and reports an uncaught error.
import { boxliteError } from '../errors.js';
import { parseNodeError, parsePythonError, type CodeError } from './code-errors.js';

/** A language `CodeBox.runCode()` runs. */
export type CodeLanguage = 'python' | 'javascript' | 'bash';

/** @internal How one language is run in a box. */
export interface Interpreter {
  /** The program that must exist in the box, for messages. */
  readonly needs: string;
  /** argv reading the program's source from stdin (never on the command line: argv is limited). */
  readonly argv: readonly [string, ...string[]];
  /** argv installing `names`, or undefined when the language has no package manager here. */
  install?(names: readonly string[]): readonly [string, ...string[]];
  /** The package manager, for messages. */
  readonly installer?: string;
  /** The uncaught error printed on stderr, if any. */
  parseError(stderr: string): CodeError | undefined;
}

// bash reads a script from stdin as it runs it, so a command in the script that reads stdin would eat the rest:
// the script is stored in a temporary file first and run with stdin from /dev/null.
const BASH_FROM_FILE = 'f=$(mktemp) || exit 125; cat >"$f"; bash "$f" </dev/null; s=$?; rm -f "$f"; exit $s';

// Python reads a script given as `python3 -` one byte per read() when PYTHONUNBUFFERED is set (images often set
// it): minutes for a few MiB under emulation. So a small bootstrap reads stdin in bulk and runs it as `<stdin>` in
// __main__, printing an uncaught exception exactly as Python would, without the bootstrap's own frame.
const PYTHON_BOOTSTRAP = [
  'def _boxlite_run():',
  '    import sys, traceback',
  '    src = sys.stdin.buffer.read()',
  "    g = sys.modules['__main__'].__dict__",
  "    del g['_boxlite_run']",
  '    try:',
  "        exec(compile(src, '<stdin>', 'exec'), g)",
  '    except SystemExit:',
  '        raise',
  '    except BaseException as e:',
  '        traceback.print_exception(type(e), e, e.__traceback__.tb_next)',
  '        sys.stderr.flush()',
  '        raise SystemExit(1) from None',
  '_boxlite_run()',
].join('\n');

const INTERPRETERS: Record<CodeLanguage, Interpreter> = {
  python: {
    needs: 'python3',
    argv: ['python3', '-c', PYTHON_BOOTSTRAP], // the whole program from stdin, then run (its own stdin is then at EOF)
    installer: 'pip (python3 -m pip)',
    install: (names) => ['python3', '-m', 'pip', 'install', '--no-input', '--disable-pip-version-check', '--', ...names],
    parseError: parsePythonError,
  },
  javascript: {
    needs: 'node',
    argv: ['node', '-'], // likewise: the whole script from stdin, run as CommonJS ("[stdin]")
    installer: 'npm',
    install: (names) => ['npm', 'install', '--no-audit', '--no-fund', '--no-update-notifier', '--', ...names],
    parseError: parseNodeError,
  },
  bash: {
    needs: 'bash',
    argv: ['bash', '-c', BASH_FROM_FILE],
    parseError: () => undefined,
  },
};

/** @internal The interpreter of `language`; InvalidArgument for an unknown one. */
export function interpreterOf(language: unknown): Interpreter {
  if (typeof language === 'string' && Object.hasOwn(INTERPRETERS, language)) return INTERPRETERS[language as CodeLanguage];
  throw boxliteError('InvalidArgument', `language must be one of ${Object.keys(INTERPRETERS).map((l) => `'${l}'`).join(', ')}, got ${JSON.stringify(language)}`);
}

/** @internal Checks package names: non-empty, no leading `-` (they would be read as options), no whitespace or NUL. */
export function checkPackageNames(names: readonly unknown[]): string[] {
  if (names.length === 0) throw boxliteError('InvalidArgument', 'installPackages() needs at least one package name');
  return names.map((n) => {
    if (typeof n !== 'string' || !/^[^\s\0-][^\s\0]*$/.test(n)) {
      throw boxliteError('InvalidArgument', `package names must be non-empty, without whitespace, and not start with "-", got ${JSON.stringify(n)}`);
    }
    return n;
  });
}
