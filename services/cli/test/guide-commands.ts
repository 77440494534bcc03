// Reads the shell commands out of the user guides' ```sh blocks, for the docs test. Pure.
//
// A comment line inside a block says how the commands after it (to the end of the block) are
// checked:
//   (none)             run by the docs test against a real `conform up`: `conform ...`,
//                      `docker compose exec SERVICE conform ...` (run as `conform ...`) or `curl URL`
//   # via compose      Docker Compose commands; deploy/smoke.sh runs each of them
//   # on the host, # needs ...   host set-up (git, Docker, the GPU) the test cannot do; only
//                      their `conform` subcommands and flags are checked

export type Mode = 'run' | 'compose' | 'host';

export interface GuideCommand {
  guide: string;
  line: number;
  text: string;
  mode: Mode;
}

export function guideCommands(markdown: string, guide: string): GuideCommand[] {
  const out: GuideCommand[] = [];
  const lines = markdown.split('\n');
  let inSh = false;
  let inOther = false;
  let mode: Mode = 'run';
  let pending: { text: string; line: number } | undefined;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (!inSh && !inOther && /^```/.test(line)) {
      if (line === '```sh') {
        inSh = true;
        mode = 'run';
      } else inOther = true;
      return;
    }
    if ((inSh || inOther) && line === '```') {
      inSh = inOther = false;
      return;
    }
    if (!inSh) return;
    if (pending === undefined && line.startsWith('#')) {
      if (line === '# via compose') mode = 'compose';
      else if (line === '# on the host' || line.startsWith('# needs ')) mode = 'host';
      return;
    }
    if (line === '') return;
    const text = pending ? `${pending.text} ${line}` : line;
    const start = pending?.line ?? i + 1;
    if (text.endsWith('\\')) {
      pending = { text: text.slice(0, -1).trimEnd(), line: start };
      return;
    }
    pending = undefined;
    out.push({ guide, line: start, text, mode });
  });
  return out;
}

/** Splits a command line into words as a POSIX shell would for these simple lines. */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else word = (word ?? '') + ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      word ??= '';
    } else if (/\s/.test(ch)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else word = (word ?? '') + ch;
  }
  if (quote) throw new Error(`unterminated quote in: ${text}`);
  if (word !== undefined) words.push(word);
  return words;
}

export interface ConformCall {
  /** The subcommand path, e.g. ['status'] or ['config', 'validate']. */
  command: string[];
  /** Every word after `conform` (what the test runs). */
  args: string[];
  /** Flags mentioned, without values. */
  flags: string[];
}

/** The `conform` invocations in a command line (`conform` followed by a known subcommand or a
 * flag; an image named conform before the command is skipped). */
export function conformCalls(
  words: string[],
  subcommands: ReadonlySet<string>,
  groups: ReadonlySet<string>,
): ConformCall[] {
  const calls: ConformCall[] = [];
  words.forEach((w, i) => {
    if (w !== 'conform') return;
    const next = words[i + 1];
    if (next === undefined || !(subcommands.has(next) || next.startsWith('-'))) return;
    const args = words.slice(i + 1);
    const command = next.startsWith('-')
      ? []
      : groups.has(next) && words[i + 2] && !words[i + 2]!.startsWith('-')
        ? [next, words[i + 2]!]
        : [next];
    const flags = args.filter((a) => /^--?[A-Za-z]/.test(a)).map((a) => a.split('=')[0]!);
    calls.push({ command, args, flags });
  });
  return calls;
}

/** Option names in a commander help text (`-V, --version`, `--url <url>`). */
export function helpOptions(help: string): Set<string> {
  const options = new Set<string>();
  const section = help.split(/^Options:$/m)[1]?.split(/^Commands:$/m)[0] ?? '';
  for (const line of section.split('\n')) {
    const m = /^ {2}(-\S.*?)(?: {2,}|$)/.exec(line);
    if (!m) continue;
    for (const name of m[1]!.matchAll(/(?:^|[\s,])(--?[A-Za-z][\w-]*)/g)) options.add(name[1]!);
  }
  return options;
}

/** Command names in a commander help text's Commands section. */
export function helpCommands(help: string): Set<string> {
  const section = help.split(/^Commands:$/m)[1] ?? '';
  return new Set([...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!));
}
