// The public options of box.commit() (a file of its own: public declarations reach nothing internal).

/** What a commit may change in the image's process defaults and history. */
export interface CommitOptions {
  /** The new image's Cmd (default: the base image's). */
  cmd?: string[];
  /** The new image's Entrypoint (default: the base image's). */
  entrypoint?: string[];
  /** Replaces the base image's Env (`KEY=VALUE` strings), when given. */
  env?: string[];
  /** The new image's WorkingDir. */
  workingDir?: string;
  /** Recorded as the config's `author`. */
  author?: string;
  /** Recorded as the comment of the new layer's history entry. */
  message?: string;
  /** Most file bytes the box may send (default 8 GiB). */
  maxBytes?: number;
  /** Most entries the box may send (default 500 000). */
  maxFiles?: number;
  /** Longest the whole commit may take, in ms (default 1 800 000); the box sending nothing for 60 s also fails it. */
  timeoutMs?: number;
  signal?: AbortSignal;
}
