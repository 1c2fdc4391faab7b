// Parses WWW-Authenticate headers (RFC 7235): the Bearer and Basic challenges a registry answers 401 with.

/** One challenge: its scheme (lowercased) and parameters (names lowercased). */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Splits a WWW-Authenticate value into its challenges, e.g.
 * `Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull"` or `Basic realm="x"`.
 * Tolerates several challenges in one header, quoted strings with escapes, and stray commas and spaces.
 */
export function parseChallenges(header: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  let i = 0;
  const n = header.length;
  const skip = (chars: string): void => { while (i < n && chars.includes(header[i]!)) i++; };
  const token = (): string => {
    const start = i;
    while (i < n && !' \t,="'.includes(header[i]!)) i++;
    return header.slice(start, i);
  };
  let current: AuthChallenge | undefined;
  while (i < n) {
    skip(' \t,');
    if (i >= n) break;
    const start = i;
    const word = token();
    if (word === '') { i++; continue; }
    skip(' \t');
    if (header[i] === '=' && current) {
      // Is this `name=value` (a parameter), or a token68 ending in `=`? A parameter has a value after `=`.
      i++;
      skip(' \t');
      let value: string;
      if (header[i] === '"') {
        i++;
        value = '';
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          value += header[i++];
        }
        i++; // closing quote
      } else {
        value = token();
      }
      current.params[word.toLowerCase()] = value;
      continue;
    }
    if (header[i] === '=' && !current) { i = start; break; }
    current = { scheme: word.toLowerCase(), params: {} };
    out.push(current);
  }
  return out;
}
