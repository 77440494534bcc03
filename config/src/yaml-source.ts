import { readFile } from 'node:fs/promises';
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ConfigError } from './errors.js';

/** A parsed YAML file that can say on which line any value (by JSON pointer) was written. */
export interface YamlSource {
  file: string;
  value: unknown;
  /** 1-based line of the value at `pointer` (e.g. `/libraries/0/root`), or of its nearest parent. */
  lineOf(pointer: string): number | null;
}

/** Parses YAML text; a syntax error becomes a {@link ConfigError} with the line. */
export function parseYaml(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const first = doc.errors[0];
  if (first) {
    const line = first.pos?.[0] === undefined ? null : lineCounter.linePos(first.pos[0]).line;
    throw new ConfigError(
      'CONFIG_SYNTAX',
      `${file}${line ? `:${line}` : ''}: ${first.message.split('\n')[0]}`,
      { file, line },
    );
  }
  return {
    file,
    value: doc.toJS() as unknown,
    lineOf: (pointer) => lineOf(doc, lineCounter, pointer),
  };
}

/** Reads and parses a YAML file. */
export async function readYaml(file: string): Promise<YamlSource> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError('CONFIG_UNREADABLE', `${file}: ${(err as Error).message}`, {
      file,
      cause: err,
    });
  }
  return parseYaml(text, file);
}

function lineOf(doc: Document, counter: LineCounter, pointer: string): number | null {
  const keys = pointer
    .split('/')
    .slice(1)
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: unknown = doc.contents;
  let line = rangeLine(node, counter);
  for (const key of keys) {
    let next: unknown = undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) => String((p.key as { value?: unknown })?.value) === key);
      if (pair) {
        line = rangeLine(pair.key, counter) ?? line;
        next = pair.value;
      }
    } else if (isSeq(node)) {
      next = node.items[Number(key)];
    }
    if (next === undefined) break;
    node = next;
    line = rangeLine(node, counter) ?? line;
  }
  return line;
}

function rangeLine(node: unknown, counter: LineCounter): number | null {
  const range = (node as Node | null)?.range;
  return range ? counter.linePos(range[0]).line : null;
}
