import { isAbsolute, normalize } from 'node:path';
import type { EventEnvelope } from '@conform/contracts';
import { BusError } from './errors.js';
import type { HandlerContext } from './worker.js';

/** One `--path-map FROM=TO`: FROM is the canonical (watcher's) path, TO where this node sees it. */
export interface PathMapping {
  from: string;
  to: string;
}

/** A `--path-map` / CONFORM_PATH_MAP entry that is not `/absolute=/absolute`. */
export class PathMapError extends BusError {
  readonly entry: string;
  constructor(entry: string, why: string) {
    super('PATH_MAP', `--path-map "${entry}": ${why} (expected FROM=TO, both absolute paths)`);
    this.name = 'PathMapError';
    this.entry = entry;
  }
}

/**
 * Translates between the canonical paths events carry (what the watcher sees) and this node's
 * mounts. The longest matching prefix wins, matched on whole path segments, so `/media=/mnt/m`
 * maps `/media/tv/x.mkv` but not `/media2/x.mkv`. Paths no mapping covers stay as they are.
 */
export class PathMap {
  readonly mappings: readonly PathMapping[];

  constructor(mappings: readonly PathMapping[] = []) {
    this.mappings = mappings.map((m) => ({ from: trimSlash(m.from), to: trimSlash(m.to) }));
  }

  /** Parses `FROM=TO` entries (flags, or CONFORM_PATH_MAP split on commas). */
  static parse(entries: readonly string[]): PathMap {
    const mappings = entries
      .map((e) => e.trim())
      .filter(Boolean)
      .map((entry) => {
        const at = entry.indexOf('=');
        if (at < 0) throw new PathMapError(entry, 'no "="');
        const from = entry.slice(0, at).trim();
        const to = entry.slice(at + 1).trim();
        if (!isAbsolute(from)) throw new PathMapError(entry, `FROM "${from}" is not absolute`);
        if (!isAbsolute(to)) throw new PathMapError(entry, `TO "${to}" is not absolute`);
        return { from: normalize(from), to: normalize(to) };
      });
    const seen = new Set<string>();
    for (const m of mappings) {
      if (seen.has(trimSlash(m.from))) {
        throw new PathMapError(`${m.from}=${m.to}`, `${m.from} is mapped twice`);
      }
      seen.add(trimSlash(m.from));
    }
    return new PathMap(mappings);
  }

  get empty(): boolean {
    return this.mappings.length === 0;
  }

  /** The canonical path as this node reaches it. */
  toLocal(canonical: string): string {
    return translate(canonical, this.mappings, 'from', 'to');
  }

  /** This node's path back in the canonical form events carry. */
  toCanonical(local: string): string {
    return translate(local, this.mappings, 'to', 'from');
  }

  /** The mapping that covers a canonical path, for error messages ("… mapped by A=B"). */
  describe(canonical: string): string {
    const m = best(canonical, this.mappings, 'from');
    return m ? `${m.from}=${m.to}` : 'no path map';
  }
}

// Every data key that holds a path on the file system (the contracts' `absPath` fields).
const PATH_KEYS = [
  'library',
  'path',
  'fromPath',
  'outputPath',
  'newPath',
  'archivePath',
  'replacedPath',
  'replacementArchivePath',
] as const;

function mapData<T>(data: T, fn: (p: string) => string): T {
  if (!data || typeof data !== 'object') return data;
  const out = { ...(data as Record<string, unknown>) };
  for (const key of PATH_KEYS) {
    const v = out[key];
    if (typeof v === 'string' && v.startsWith('/')) out[key] = fn(v);
  }
  return out as T;
}

/** The event as this node sees it: its paths translated to local mounts. */
export function localView<E extends EventEnvelope>(event: E, map: PathMap): E {
  if (map.empty) return event;
  return { ...event, data: mapData(event.data, (p) => map.toLocal(p)) };
}

/**
 * A handler context whose `emit` turns local paths back into canonical ones, so whatever a
 * path-mapped node publishes reads the same as from any other node.
 */
export function canonicalContext(hctx: HandlerContext, map: PathMap): HandlerContext {
  if (map.empty) return hctx;
  return {
    ...hctx,
    emit: (event, opts) =>
      hctx.emit({ ...event, data: mapData(event.data, (p) => map.toCanonical(p)) }, opts),
  };
}

function trimSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

function covers(prefix: string, p: string): boolean {
  return p === prefix || p.startsWith(prefix === '/' ? '/' : `${prefix}/`);
}

function best(
  p: string,
  mappings: readonly PathMapping[],
  side: 'from' | 'to',
): PathMapping | undefined {
  return mappings
    .filter((m) => covers(m[side], p))
    .sort((a, b) => b[side].length - a[side].length)[0];
}

function translate(
  p: string,
  mappings: readonly PathMapping[],
  side: 'from' | 'to',
  other: 'from' | 'to',
): string {
  const m = best(p, mappings, side);
  if (!m) return p;
  const rest = p.slice(m[side].length);
  if (m[other] === '/') return rest.startsWith('/') ? rest : `/${rest}`;
  return m[other] + rest;
}
