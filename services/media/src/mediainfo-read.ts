// The in-process reading itself: MediaInfoLib (mediainfo.js, WebAssembly) over a file within a
// read budget, mapped onto a MediaSummary. Runs on the prober's worker thread
// (mediainfo-worker.ts), so its CPU is not the main thread's.
import { open } from 'node:fs/promises';
import mediaInfoFactory, { type MediaInfo } from 'mediainfo.js';
import type { MediaSummary } from '@conform/contracts';
import { summarizeMediaInfo, type Track } from './mediainfo-map.js';

/**
 * Bytes MediaInfoLib may read of one file besides an mp4's index (its own seeks included). Left alone it reads 15–20 MB of a large mkv or mp4 and the whole of an MPEG-TS
 * to refine statistics the summary does not need; the headers that do are in the first MB.
 */
export const IN_PROCESS_READ_BUDGET = 2 * 1024 * 1024;

/**
 * Bytes MediaInfoLib is handed at a time; the first chunk's worth is read at once, and the mp4
 * box walk is served from it too, so a small file costs one read.
 */
const CHUNK_BYTES = 256 * 1024;

/**
 * What MediaInfoLib gets first of a file. Until a parser accepts the data it tries every one it
 * has on it: handed a small file whole, all of them go through all of it (and an mp4 is parsed
 * twice, mediainfo.js #188), several times the cost of the reading. A KB tells the formats apart;
 * the rest then goes to the one parser.
 */
const FIRST_BYTES = 1024;

/** What an in-process probe found: a summary, or why ffprobe must read the file instead. */
export type InProcessOutcome = { ok: true; media: MediaSummary } | { ok: false; why: string };

/**
 * MediaInfoLib instances, created on first use, at most `instances`. One is not re-entrant,
 * but a reading awaits its file reads, so several overlap their I/O (a NAS share).
 */
export class MediaInfoPool {
  private readonly idle: MediaInfo<'JSON'>[] = [];
  private created = 0;
  private readonly waiting: ((mi: MediaInfo<'JSON'>) => void)[] = [];

  constructor(private readonly instances = 2) {}

  /** The summary of `path`, or why it needs ffprobe (unreadable, unsure, over budget). */
  async read(path: string): Promise<InProcessOutcome> {
    const mi = await this.borrow();
    try {
      return summarizeMediaInfo(await analyze(mi, path));
    } catch (err) {
      return { ok: false, why: `mediainfo: ${(err as Error).message}` };
    } finally {
      this.give(mi);
    }
  }

  /** Frees the WebAssembly instances. */
  close(): void {
    for (const mi of this.idle.splice(0)) mi.close();
  }

  private async borrow(): Promise<MediaInfo<'JSON'>> {
    const free = this.idle.pop();
    if (free) return free;
    if (this.created < this.instances) {
      this.created++;
      return mediaInfoFactory({ format: 'JSON', full: false, chunkSize: CHUNK_BYTES });
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private give(mi: MediaInfo<'JSON'>): void {
    const next = this.waiting.shift();
    if (next) next(mi);
    else this.idle.push(mi);
  }
}

/** Reads `length` bytes at `offset` (fewer at the end of the file). */
export type ReadAt = (length: number, offset: number) => Promise<Uint8Array>;

async function analyze(mi: MediaInfo<'JSON'>, path: string): Promise<Track[]> {
  const fh = await open(path, 'r');
  let read = 0;
  let overBudget = false;
  try {
    const { size } = await fh.stat();
    const head = new Uint8Array(Math.min(size, CHUNK_BYTES));
    const headRead = (await fh.read(head, 0, head.length, 0)).bytesRead;
    const readAt: ReadAt = async (length, offset) => {
      if (offset + length <= headRead) return head.subarray(offset, offset + length);
      const buf = new Uint8Array(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    };
    // An mp4's index (moov) is read whole, wherever it lies, as ffprobe reads it: a partly read
    // one would describe only some of the tracks.
    const index = await mp4Index(readAt, size);
    const budget = IN_PROCESS_READ_BUDGET + (index?.size ?? 0);
    // Bytes of the index handed to MediaInfoLib (reads may overlap: a rough but safe count).
    let indexRead = 0;
    const result = await mi.analyzeData(size, async (length, offset) => {
      if (read >= budget) {
        overBudget = true;
        return new Uint8Array(0);
      }
      const first = offset === 0 ? FIRST_BYTES : length;
      const buf = await readAt(Math.min(length, first, budget - read + 1), offset);
      read += buf.length;
      if (index) {
        const from = Math.max(offset, index.offset);
        const to = Math.min(offset + buf.length, index.offset + index.size);
        if (to > from) indexRead += to - from;
      }
      return buf;
    });
    const tracks = tracksOf(result);
    // Matroska describes its tracks, attachments and chapters before the first cluster, so a
    // read stopped in the clusters has them all. An mp4 stopped short may not have its index.
    if (overBudget && ((index && indexRead < index.size) || tracks.length < 2)) {
      throw new Error('read budget spent before the index was read');
    }
    return tracks;
  } finally {
    await fh.close();
  }
}

/**
 * Where an ISO-BMFF (mp4/mov) file's `moov` box lies, found by walking the top-level box
 * headers (16 bytes each); null when the file is not one or has no moov.
 */
export async function mp4Index(
  readAt: ReadAt,
  size: number,
): Promise<{ offset: number; size: number } | null> {
  let offset = 0;
  for (let boxes = 0; boxes < 64 && offset + 8 <= size; boxes++) {
    const bytes = await readAt(16, offset);
    if (bytes.length < 8) return null;
    const head = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    const type = head.toString('latin1', 4, 8);
    if (boxes === 0 && type !== 'ftyp') return null;
    let boxSize = head.readUInt32BE(0);
    if (boxSize === 1 && bytes.length >= 16) boxSize = Number(head.readBigUInt64BE(8));
    else if (boxSize === 0) boxSize = size - offset;
    if (boxSize < 8) return null;
    if (type === 'moov') return { offset, size: boxSize };
    offset += boxSize;
  }
  return null;
}

/** mediainfo.js's own lists of the fields it turns into numbers (not exported by the package). */
const { INT_FIELDS, FLOAT_FIELDS } = (await import(
  new URL('./MediaInfoResult.js', import.meta.resolve('mediainfo.js')).href
)) as { INT_FIELDS: string[]; FLOAT_FIELDS: string[] };
const INTS = new Set(INT_FIELDS);
const FLOATS = new Set(FLOAT_FIELDS);

/**
 * MediaInfoLib's JSON as mediainfo.js's `format: 'object'` gives it (the same fields turned into
 * numbers, the same way), without its rebuilding of every track one spread per field.
 */
export function tracksOf(json: string): Track[] {
  const parsed = JSON.parse(json) as { media?: { track?: unknown } } | null;
  const tracks = parsed?.media?.track;
  if (!Array.isArray(tracks)) return [];
  for (const track of tracks as Track[]) {
    for (const [key, value] of Object.entries(track)) {
      if (typeof value !== 'string') continue;
      if (INTS.has(key)) track[key] = Number.parseInt(value, 10);
      else if (FLOATS.has(key)) track[key] = Number.parseFloat(value);
    }
  }
  return tracks as Track[];
}
