// BoxCommand: the builder describing one program to run in a box.
import { boxliteError } from '../errors.js';

/**
 * A program to run in a box, built with chained calls.
 *
 * @example
 * ```ts
 * const cmd = new BoxCommand('python3').args(['-c', 'print("hi")']).env('PYTHONPATH', '/app')
 *   .timeout(30_000).workingDir('/workspace').tty(false);
 * ```
 */
export class BoxCommand {
  readonly program: string;
  private readonly argList: string[] = [];
  private readonly envMap = new Map<string, string>();
  private timeoutValueMs: number | undefined;
  private dir: string | undefined;
  private ttyEnabled = false;
  private userSpec: string | undefined;

  constructor(command: string) {
    if (typeof command !== 'string' || command === '' || command.includes('\0')) {
      throw boxliteError('InvalidArgument', `command must be a non-empty string without NUL bytes, got ${JSON.stringify(command)}`);
    }
    this.program = command;
  }

  /** Adds one argument. */
  arg(arg: string): this {
    this.argList.push(checkString('argument', arg));
    return this;
  }

  /** Adds several arguments. */
  args(args: Iterable<string>): this {
    for (const a of args) this.arg(a);
    return this;
  }

  /** Sets an environment variable (overrides the box's and the image's). */
  env(key: string, value: string): this {
    if (typeof key !== 'string' || !/^[^=\0]+$/.test(key)) {
      throw boxliteError('InvalidArgument', `environment variable name must be non-empty without "=" or NUL, got ${JSON.stringify(key)}`);
    }
    this.envMap.set(key, checkString(`value of ${key}`, value));
    return this;
  }

  /** Kills the command (SIGKILL to its process group) after `timeoutMs` milliseconds; the result says it timed out. */
  timeout(timeoutMs: number): this {
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > 0xffff_ffff) {
      throw boxliteError('InvalidArgument', `timeout must be a whole number of milliseconds between 1 and 4294967295, got ${timeoutMs}`);
    }
    this.timeoutValueMs = timeoutMs;
    return this;
  }

  /** Sets the working directory inside the box (absolute). */
  workingDir(dir: string): this {
    if (typeof dir !== 'string' || !dir.startsWith('/') || dir.includes('\0')) {
      throw boxliteError('InvalidArgument', `workingDir must be an absolute path, got ${JSON.stringify(dir)}`);
    }
    this.dir = dir;
    return this;
  }

  /** Runs the command on a pseudo-terminal (stdout and stderr merged, resizable). */
  tty(enable: boolean): this {
    this.ttyEnabled = enable;
    return this;
  }

  /**
   * Runs the command as this user of the box (overrides the box's `user` option): `name`, `uid`, `name:group`,
   * `uid:gid`, `name:gid` or `uid:group`, looked up in the box's /etc/passwd and /etc/group. Default: root.
   */
  user(name: string): this {
    this.userSpec = checkUser(name);
    return this;
  }

  /** argv as run: the program followed by its arguments. */
  get argv(): string[] { return [this.program, ...this.argList]; }
  /** Environment set on this command. */
  get envVars(): ReadonlyMap<string, string> { return this.envMap; }
  /** Timeout in milliseconds, if set. */
  get timeoutMs(): number | undefined { return this.timeoutValueMs; }
  /** Working directory, if set. */
  get cwd(): string | undefined { return this.dir; }
  /** Whether a TTY was requested. */
  get isTty(): boolean { return this.ttyEnabled; }
  /** User to run as, if set. */
  get userName(): string | undefined { return this.userSpec; }

  /** A shell-like rendering for messages. */
  toString(): string {
    return this.argv.map((a) => (/^[\w./=:@%+-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
  }
}

/** Validates a user spec (BoxCommand.user, BoxOptions.user): non-empty, no whitespace or NUL. */
export function checkUser(name: string, what = 'user'): string {
  if (typeof name !== 'string' || !/^[^\s\0]+$/.test(name)) {
    throw boxliteError('InvalidArgument', `${what} must be a non-empty name or id (e.g. "nobody", "1000", "1000:1000") without whitespace or NUL, got ${JSON.stringify(name)}`);
  }
  return name;
}

function checkString(what: string, s: string): string {
  if (typeof s !== 'string' || s.includes('\0')) throw boxliteError('InvalidArgument', `${what} must be a string without NUL bytes, got ${JSON.stringify(s)}`);
  return s;
}
