// The watcher's catalogue remembered in the state directory: at every start the catalogue is
// the fold of every file event of the log (evolveCatalogue), and reading the whole log for it
// took most of an unchanged restart (seconds at 100,000 files, a minute at a million). The
// snapshot is only a cache of that fold: the catalogue as it stood once every event up to one
// sequence of one stream was folded, so a start loads it and reads the log after that sequence
// only. The log stays the truth: a snapshot that is missing, unreadable, of another format, of
// another stream (deleted and recreated: another `created` time or first sequence) or ahead of
// the log is not used, and the whole log is read as before. Its encoding (pure, below) and its
// file (written atomically: temp file, fsync, rename, fsync of the folder) are kept apart.
// Over 250 lines: the format's encoder, its checked decoder and their file I/O belong together.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { durableRename } from '@conform/bus';
import type { Catalogue, CatalogueEntry } from './decide.js';
import { emptyCatalogue } from './decide.js';

/** The file in the state directory. */
export const CATALOGUE_SNAPSHOT_FILE = 'watcher-catalogue.snapshot';

/**
 * The snapshot format and the fold it caches. Raise it whenever {@link CatalogueEntry} or what
 * `evolveCatalogue` makes of an event changes: an older snapshot is then read again from the log.
 */
export const CATALOGUE_SNAPSHOT_FORMAT = 1;

/** Entries per line of the file: a million-file catalogue is written and read in pieces. */
const ENTRIES_PER_LINE = 4_096;

/** The writer's buffer: the file goes out in writes of this size. */
const WRITE_BUFFER_BYTES = 1 << 20;

/** Which stream a fold was made from: a stream deleted and created again is another one. */
export interface LogIdentity {
  stream: string;
  /** The stream's creation time as nats-server reports it (`StreamInfo.created`). */
  created: string;
  /** Its first sequence: the log neither drops nor purges history (discard new, deny purge). */
  firstSeq: number;
}

/** The head of a snapshot: which fold of which log it holds. */
export interface SnapshotHeader {
  format: number;
  log: LogIdentity;
  /** Every event of the log up to this sequence is folded in, and nothing after it. */
  sequence: number;
  libraries: string[];
  files: number;
}

/** A catalogue frozen for writing: its entries at one instant (entries are never mutated). */
export interface CatalogueCapture {
  sequence: number;
  entries: CatalogueEntry[];
  /** Per entry: 1 when the catalogue maps the entry's path to it. */
  ownsPath: Uint8Array;
}

/**
 * The catalogue as it is now, in O(files) without copying entries, so it can be written while
 * the catalogue moves on. `sequence` must be the last event folded into it. Pure.
 */
export function captureCatalogue(catalogue: Catalogue, sequence: number): CatalogueCapture {
  const entries = [...catalogue.files.values()];
  const ownsPath = new Uint8Array(entries.length);
  entries.forEach((e, i) => {
    ownsPath[i] = catalogue.byPath.get(e.path) === e.fileId ? 1 : 0;
  });
  return { sequence, entries, ownsPath };
}

// Flags of an encoded entry.
const OWNS_PATH = 1;
/** The path is stored whole: it does not lie below its library as `library/rest`. */
const WHOLE_PATH = 2;

/**
 * The snapshot's lines: a header, the entries in lines of {@link ENTRIES_PER_LINE}, and a
 * trailer with their count and a sha256 of every line before it (a truncated or damaged file
 * is refused, not half used). An entry is `[fileId, library index, path below the library,
 * size, mtimeMs, hash, sequence, flags, relativePath?]`. Pure; the lines are
 * {@link snapshotPieces} joined.
 */
export function* encodeSnapshot(capture: CatalogueCapture, log: LogIdentity): Generator<string> {
  let line = '';
  for (const piece of snapshotPieces(capture, log)) {
    line += piece;
    if (line.endsWith('\n')) {
      yield line;
      line = '';
    }
  }
}

/**
 * The snapshot's text in pieces of one entry each (a header, `[`/`,` and an entry's JSON, `]`
 * and a newline, the trailer): a line of 4,096 entries is over 128 KiB, which V8 puts in its
 * large-object space where it stays until a full collection, so writing a 100,000-file
 * catalogue as whole lines left tens of MB of dead strings in the old generation (peak RSS at
 * stop). The bytes are those of JSON.stringify of each line's rows. Pure.
 */
export function* snapshotPieces(capture: CatalogueCapture, log: LogIdentity): Generator<string> {
  const index = new Map<string, number>();
  for (const e of capture.entries) if (!index.has(e.library)) index.set(e.library, index.size);
  const hash = createHash('sha256');
  const hashed = (text: string) => {
    hash.update(text);
    return text;
  };
  const header: SnapshotHeader = {
    format: CATALOGUE_SNAPSHOT_FORMAT,
    log,
    sequence: capture.sequence,
    libraries: [...index.keys()],
    files: capture.entries.length,
  };
  yield hashed(`${JSON.stringify(header)}\n`);
  const { entries, ownsPath } = capture;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const below = e.path.startsWith(e.library + '/');
    const flags = (ownsPath[i] ? OWNS_PATH : 0) | (below ? 0 : WHOLE_PATH);
    const row: unknown[] = [
      e.fileId,
      index.get(e.library),
      below ? e.path.slice(e.library.length + 1) : e.path,
      e.size,
      e.mtimeMs,
      e.hash,
      e.sequence,
      flags,
    ];
    if (e.relativePath !== undefined) row.push(e.relativePath);
    const first = i % ENTRIES_PER_LINE === 0;
    const last = i % ENTRIES_PER_LINE === ENTRIES_PER_LINE - 1 || i === entries.length - 1;
    yield hashed(`${first ? '[' : ','}${JSON.stringify(row)}${last ? ']\n' : ''}`);
  }
  yield `${JSON.stringify({ end: true, files: entries.length, sha256: hash.digest('hex') })}\n`;
}

/** A snapshot that cannot be used, and why (for the log line of the fall-back). */
export class SnapshotUnusable extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'SnapshotUnusable';
  }
}

/** Why a snapshot made from `made` cannot stand for the log `now`, or null. Pure. */
export function snapshotMismatch(
  header: Pick<SnapshotHeader, 'log' | 'sequence'>,
  now: LogIdentity & { lastSeq: number },
): string | null {
  if (header.log.stream !== now.stream) return `made from stream ${header.log.stream}`;
  if (header.log.created !== now.created || header.log.firstSeq !== now.firstSeq) {
    return `made from another ${now.stream} stream (created ${header.log.created}, first sequence ${header.log.firstSeq}; this one ${now.created}, ${now.firstSeq})`;
  }
  if (header.sequence > now.lastSeq) {
    return `it covers the log up to sequence ${header.sequence}, beyond the log's last (${now.lastSeq})`;
  }
  return null;
}

/**
 * Decodes a snapshot's lines into its header and catalogue, checking every field; throws
 * {@link SnapshotUnusable} on anything unexpected. `accept` is asked about the header before
 * the entries are read (a snapshot of another log is not decoded at all).
 */
export async function decodeSnapshot(
  lines: AsyncIterable<string> | Iterable<string>,
  accept: (header: SnapshotHeader) => string | null,
): Promise<{ header: SnapshotHeader; catalogue: Catalogue }> {
  const hash = createHash('sha256');
  let header: SnapshotHeader | null = null;
  const catalogue = emptyCatalogue();
  let ended = false;
  for await (const text of lines) {
    if (ended) throw new SnapshotUnusable('lines after its end');
    if (header === null) {
      header = parseHeader(text);
      const mismatch = accept(header);
      if (mismatch) throw new SnapshotUnusable(mismatch);
      hash.update(text).update('\n');
      continue;
    }
    if (text.startsWith('{')) {
      const trailer = parseJson(text) as { end?: unknown; files?: unknown; sha256?: unknown };
      if (trailer.end !== true || trailer.files !== catalogue.files.size)
        throw new SnapshotUnusable(
          `it ends after ${catalogue.files.size} of ${header.files} files`,
        );
      if (trailer.sha256 !== hash.digest('hex')) throw new SnapshotUnusable('checksum mismatch');
      ended = true;
      continue;
    }
    hash.update(text).update('\n');
    const rows = parseJson(text);
    if (!Array.isArray(rows)) throw new SnapshotUnusable('an entry line is not a list');
    for (const row of rows) addEntry(catalogue, header, row);
  }
  if (!header) throw new SnapshotUnusable('empty file');
  if (!ended) throw new SnapshotUnusable(`truncated after ${catalogue.files.size} files`);
  if (catalogue.files.size !== header.files)
    throw new SnapshotUnusable(`${catalogue.files.size} files instead of ${header.files}`);
  return { header, catalogue };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new SnapshotUnusable('not valid JSON');
  }
}

function parseHeader(text: string): SnapshotHeader {
  const h = parseJson(text) as Partial<SnapshotHeader> | null;
  if (h?.format !== CATALOGUE_SNAPSHOT_FORMAT)
    throw new SnapshotUnusable(`format ${String(h?.format)}, not ${CATALOGUE_SNAPSHOT_FORMAT}`);
  const log = h.log;
  const valid =
    typeof log?.stream === 'string' &&
    typeof log.created === 'string' &&
    Number.isSafeInteger(log.firstSeq) &&
    Number.isSafeInteger(h.sequence) &&
    h.sequence! >= 0 &&
    Array.isArray(h.libraries) &&
    h.libraries.every((l) => typeof l === 'string') &&
    Number.isSafeInteger(h.files);
  if (!valid) throw new SnapshotUnusable('malformed header');
  return h as SnapshotHeader;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function addEntry(catalogue: Catalogue, header: SnapshotHeader, row: unknown): void {
  if (!Array.isArray(row) || row.length < 8 || row.length > 9)
    throw new SnapshotUnusable('malformed entry');
  const [fileId, lib, stored, size, mtimeMs, hash, sequence, flags, relativePath] = row as [
    unknown,
    unknown,
    unknown,
    unknown,
    unknown,
    unknown,
    unknown,
    unknown,
    unknown,
  ];
  const library = typeof lib === 'number' ? header.libraries[lib] : undefined;
  if (
    typeof fileId !== 'string' ||
    library === undefined ||
    typeof stored !== 'string' ||
    !isNumber(size) ||
    !isNumber(mtimeMs) ||
    (hash !== null && typeof hash !== 'string') ||
    !Number.isSafeInteger(sequence) ||
    (sequence as number) > header.sequence ||
    !Number.isSafeInteger(flags) ||
    (row.length === 9 && typeof relativePath !== 'string') ||
    catalogue.files.has(fileId)
  )
    throw new SnapshotUnusable('malformed entry');
  const path = (flags as number) & WHOLE_PATH ? stored : `${library}/${stored}`;
  const entry: CatalogueEntry = {
    fileId,
    library,
    path,
    size,
    mtimeMs,
    hash,
    sequence: sequence as number,
  };
  if (row.length === 9) entry.relativePath = relativePath as string;
  catalogue.files.set(fileId, entry);
  if ((flags as number) & OWNS_PATH) catalogue.byPath.set(path, fileId);
}

/** The snapshot's path in a state directory. */
export function snapshotPath(stateDir: string): string {
  return join(stateDir, CATALOGUE_SNAPSHOT_FILE);
}

/** Lines of a file, read in pieces (a million-file snapshot is over 100 MB). */
async function* fileLines(path: string): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const text = rest + (chunk as string);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      yield text.slice(start, nl);
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  if (rest) yield rest;
}

/**
 * The snapshot at `path` when it can stand for the log `now`; otherwise why not (`missing`
 * when there is none). Never throws.
 */
export async function readCatalogueSnapshot(
  path: string,
  now: LogIdentity & { lastSeq: number },
): Promise<
  { ok: true; header: SnapshotHeader; catalogue: Catalogue } | { ok: false; reason: string }
> {
  try {
    const { header, catalogue } = await decodeSnapshot(fileLines(path), (h) =>
      snapshotMismatch(h, now),
    );
    return { ok: true, header, catalogue };
  } catch (err) {
    if (err instanceof SnapshotUnusable) return { ok: false, reason: err.reason };
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, reason: 'missing' };
    return { ok: false, reason: `unreadable: ${code ?? (err as Error).message}` };
  }
}

/**
 * Removes temp files a write left behind when the process was killed mid-write (a million-file
 * snapshot is over 100 MB). Call before any write of this process; never throws.
 */
export async function removeStaleSnapshotTemps(path: string): Promise<void> {
  const prefix = `${basename(path)}.`;
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  await Promise.all(
    names
      .filter((n) => n.startsWith(prefix) && n.endsWith('.tmp'))
      .map((n) => rm(join(dirname(path), n), { force: true }).catch(() => {})),
  );
}

/** Writes all of `bytes` (a write may take fewer than it was given). */
async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  for (let done = 0; done < bytes.length;) {
    done += (await handle.write(bytes, done, bytes.length - done)).bytesWritten;
  }
}

/**
 * Writes a captured catalogue to `path` atomically: into a temp file beside it, fsynced, then
 * renamed over the old snapshot (and the folder fsynced), so a crash leaves the old snapshot
 * or the new one, never part of one.
 */
export async function writeCatalogueSnapshot(
  path: string,
  capture: CatalogueCapture,
  log: LogIdentity,
): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    // Pieces gathered into one reused buffer, written when full: one write per piece would be
    // a hundred thousand, and joining them into strings would allocate what this avoids.
    const buffer = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
    let used = 0;
    for (const piece of snapshotPieces(capture, log)) {
      const bytes = Buffer.byteLength(piece);
      if (used + bytes > buffer.length && used > 0) {
        await writeAll(handle, buffer.subarray(0, used));
        used = 0;
      }
      if (bytes > buffer.length) await writeAll(handle, Buffer.from(piece));
      else used += buffer.write(piece, used);
    }
    if (used > 0) await writeAll(handle, buffer.subarray(0, used));
  } catch (err) {
    await handle.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await durableRename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
