// Reads kernel config text (`CONFIG_X=y`, `# CONFIG_X is not set`) and compares a fragment with a final .config.

/** An option of the fragment whose value the final config does not have. */
export interface UnmetOption {
  option: string;
  wanted: string;
  /** The final value; undefined when unset. */
  got: string | undefined;
}

/** The options set in config text: `CONFIG_X=v` gives v, `# CONFIG_X is not set` gives `n`. */
export function parseKconfig(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const set = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (set) { map.set(set[1]!, set[2]!); continue; }
    const unset = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line);
    if (unset) map.set(unset[1]!, 'n');
  }
  return map;
}

/** The fragment's options that `config` lacks (an `n` in the fragment is met by an unset option). */
export function unmetConfig(fragment: string, config: string): UnmetOption[] {
  const final = parseKconfig(config);
  const unmet: UnmetOption[] = [];
  for (const [option, wanted] of parseKconfig(fragment)) {
    const got = final.get(option);
    if (wanted === 'n' ? got !== undefined && got !== 'n' : got !== wanted) unmet.push({ option, wanted, got });
  }
  return unmet;
}
