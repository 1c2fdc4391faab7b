// CodeBox: a SimpleBox that runs Python, JavaScript or bash source and reports its uncaught error; installs packages.
import { boxliteError, BoxliteError } from '../errors.js';
import type { CommandResult, ExecOptions } from '../runtime/exec-options.js';
import type { CodeError } from './code-errors.js';
import { checkPackageNames, interpreterOf, type CodeLanguage, type Interpreter } from './interpreters.js';
import { SimpleBox, type SimpleBoxOptions } from './simple-box.js';

/** The image a CodeBox uses when given neither `image` nor `rootfs` (upstream's default). */
export const DEFAULT_CODE_IMAGE = 'python:slim';

/** Options of a CodeBox: a SimpleBox's, plus the default language. */
export interface CodeBoxOptions extends SimpleBoxOptions {
  /** The language of `runCode()` and `installPackages()` when a call names none (default `'python'`). */
  language?: CodeLanguage;
}

/** Options of one `runCode()`. */
export interface RunCodeOptions extends Pick<ExecOptions, 'env' | 'cwd' | 'user' | 'timeoutMs' | 'signal' | 'maxBuffer'> {
  /** The code's language (default: the CodeBox's). */
  language?: CodeLanguage;
}

/** What running code gave: its output and exit code, and its uncaught error if it raised one. */
export interface CodeResult extends CommandResult {
  /** The uncaught exception (Python) or error (JavaScript), parsed from stderr; undefined when it exited normally. */
  error?: CodeError;
}

/**
 * A box for running code: `runCode(source)` hands the source to the interpreter on stdin (so its size is not
 * limited by the command line) and returns stdout, stderr, the exit code and the parsed uncaught error.
 * Created on first use and removed on `close()` / `await using`, as a SimpleBox. The image must have the
 * interpreter: `python3` for Python, `node` for JavaScript, `bash` (with `mktemp` and `cat`) for bash.
 *
 * @example
 * ```ts
 * await using box = new CodeBox({ image: 'python:3.11-slim' });
 * const r = await box.runCode('print(1 / 0)');
 * console.log(r.exitCode, r.error?.name, r.error?.message);   // 1 ZeroDivisionError division by zero
 * ```
 */
export class CodeBox extends SimpleBox {
  /** The default language of this box. */
  readonly language: CodeLanguage;

  constructor(options: CodeBoxOptions = {}) {
    const { language = 'python', ...rest } = options;
    interpreterOf(language);
    super(rest.image === undefined && rest.rootfs === undefined ? { ...rest, image: DEFAULT_CODE_IMAGE } : rest);
    this.language = language;
  }

  /**
   * Runs `code` to completion. The code gets no standard input of its own (stdin carries the source). A non-zero
   * exit is a result: `error` holds the parsed uncaught error (Python: type, message and traceback; JavaScript:
   * name, message and stack). Rejects (Run) when the box lacks the interpreter, and as `exec()` does otherwise.
   */
  async runCode(code: string, options: RunCodeOptions = {}): Promise<CodeResult> {
    if (typeof code !== 'string') throw boxliteError('InvalidArgument', `runCode() needs the source code as a string, got ${typeof code}`);
    const { language = this.language, ...execOptions } = options;
    const interpreter = interpreterOf(language);
    const [program, ...args] = interpreter.argv;
    const result = await this.exec(program, args, { ...execOptions, input: code }).catch((err: unknown) => missing(err, interpreter, `runCode() runs ${language} with`));
    const error = result.exitCode !== 0 && !result.timedOut ? interpreter.parseError(result.stderr) : undefined;
    return error ? { ...result, error } : result;
  }

  /**
   * Installs packages with the box language's package manager (pip for Python, npm for JavaScript, in the
   * working directory), and resolves with its output. Rejects with a Run error when the package manager is
   * missing or fails (e.g. no network), with the end of its output.
   */
  async installPackages(...names: string[]): Promise<CommandResult> {
    const packages = checkPackageNames(names);
    const interpreter = interpreterOf(this.language);
    if (!interpreter.install) {
      throw boxliteError('InvalidArgument', `a ${this.language} CodeBox has no package manager to install with; run one with sh() (e.g. apt-get install)`);
    }
    const [program, ...args] = interpreter.install(packages);
    const r = await this.exec(program, args).catch((err: unknown) => missing(err, { ...interpreter, needs: program }, 'installPackages() installs with'));
    if (r.exitCode === 0) return r;
    const what = `installing ${packages.join(', ')} with ${interpreter.installer}`;
    if (/No module named pip\b/.test(r.stderr)) {
      throw boxliteError('Run', `${what} failed: pip is not installed in the box (python3 -m pip said "No module named pip"); use an image with pip, such as python:3.11-slim`);
    }
    throw boxliteError('Run', `${what} failed with exit code ${r.exitCode}${r.timedOut ? ' (timed out)' : ''}:\n${lastLines(r.stderr || r.stdout, 20)}`);
  }

  /** Installs one package (upstream's `install_package`): see `installPackages()`. */
  installPackage(name: string): Promise<CommandResult> {
    return this.installPackages(name);
  }
}

// A box without the program: a Run error naming it and what to use instead.
function missing(err: unknown, interpreter: Pick<Interpreter, 'needs'>, doing: string): never {
  if (BoxliteError.is(err) && err.code === 'Run' && new RegExp(`could not start .*\\b${interpreter.needs}: No such file or directory`).test(err.message)) {
    throw boxliteError('Run', `${doing} ${interpreter.needs}, and this box has no ${interpreter.needs}; use an image that has it`, err);
  }
  throw err;
}

function lastLines(text: string, n: number): string {
  return text.replace(/\n+$/, '').split('\n').slice(-n).join('\n');
}
