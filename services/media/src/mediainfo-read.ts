// The in-process reading itself: MediaInfoLib (mediainfo.js, WebAssembly) over a file within a
// read budget, mapped onto a MediaSummary. Runs on the prober's worker thread
// (mediainfo-worker.ts), so its CPU is not the main thread's.
import { open, type FileHandle } from 'node:fs/promises';
import mediaInfoFactory, { type MediaInfo } from 'mediainfo.js';
import type { MediaSummary } from '@conform/contracts';
import { summarizeMediaInfo, type Track } from './mediainfo-map.js';

/**
 * Bytes MediaInfoLib may read of one file besides an mp4's index (its own seeks included). Left alone it reads 15–20 MB of a large mkv or mp4 and the whole of an MPEG-TS
 * to refine statistics the summary does not need; the headers that do are in the first MB.
 */
export const IN_PROCESS_READ_BUDGET = 2 * 1024 * 1024;

/** What an in-process probe found: a summary, or why ffprobe must read the file instead. */
export type InProcessOutcome = { ok: true; media: MediaSummary } | { ok: false; why: string };

/**
 * MediaInfoLib instances, created on first use, at most `instances`. One is not re-entrant,
 * but a reading awaits its file reads, so several overlap their I/O (a NAS share).
 */
export class MediaInfoPool {
  private readonly idle: MediaInfo<'object'>[] = [];
  private created = 0;
  private readonly waiting: ((mi: MediaInfo<'object'>) => void)[] = [];

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

  private async borrow(): Promise<MediaInfo<'object'>> {
    const free = this.idle.pop();
    if (free) return free;
    if (this.created < this.instances) {
      this.created++;
      return mediaInfoFactory({ format: 'object', full: false, chunkSize: 256 * 1024 });
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private give(mi: MediaInfo<'object'>): void {
    const next = this.waiting.shift();
    if (next) next(mi);
    else this.idle.push(mi);
  }
}

async function analyze(mi: MediaInfo<'object'>, path: string): Promise<Track[]> {
  const fh = await open(path, 'r');
  let read = 0;
  let overBudget = false;
  try {
    const { size } = await fh.stat();
    // An mp4's index (moov) is read whole, wherever it lies, as ffprobe reads it: a partly read
    // one would describe only some of the tracks.
    const index = await mp4Index(fh, size);
    const budget = IN_PROCESS_READ_BUDGET + (index?.size ?? 0);
    // Bytes of the index handed to MediaInfoLib (reads may overlap: a rough but safe count).
    let indexRead = 0;
    const result = await mi.analyzeData(size, async (length, offset) => {
      if (read >= budget) {
        overBudget = true;
        return new Uint8Array(0);
      }
      const buf = new Uint8Array(Math.min(length, budget - read + 1));
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      read += bytesRead;
      if (index) {
        const from = Math.max(offset, index.offset);
        const to = Math.min(offset + bytesRead, index.offset + index.size);
        if (to > from) indexRead += to - from;
      }
      return buf.subarray(0, bytesRead);
    });
    const tracks = (result.media?.track ?? []) as unknown as Track[];
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
 * headers (a few 16-byte reads); null when the file is not one or has no moov.
 */
export async function mp4Index(
  fh: FileHandle,
  size: number,
): Promise<{ offset: number; size: number } | null> {
  const head = Buffer.alloc(16);
  let offset = 0;
  for (let boxes = 0; boxes < 64 && offset + 8 <= size; boxes++) {
    const { bytesRead } = await fh.read(head, 0, 16, offset);
    if (bytesRead < 8) return null;
    const type = head.toString('latin1', 4, 8);
    if (boxes === 0 && type !== 'ftyp') return null;
    let boxSize = head.readUInt32BE(0);
    if (boxSize === 1 && bytesRead >= 16) boxSize = Number(head.readBigUInt64BE(8));
    else if (boxSize === 0) boxSize = size - offset;
    if (boxSize < 8) return null;
    if (type === 'moov') return { offset, size: boxSize };
    offset += boxSize;
  }
  return null;
}
