import { open } from 'node:fs/promises';
import mediaInfoFactory, { type MediaInfo } from 'mediainfo.js';
import type { MediaSummary } from '@conform/contracts';
import { summarizeMediaInfo, type Track } from './mediainfo-map.js';
import { tryProbeMedia, type ProbeOutcome } from './probe.js';

/**
 * Bytes MediaInfoLib may read of one file (its own seeks, e.g. to an mp4's index at the end,
 * included). Left alone it reads 15–20 MB of a large mkv or mp4 and the whole of an MPEG-TS
 * to refine statistics the summary does not need; the headers that do are in the first MB.
 */
export const IN_PROCESS_READ_BUDGET = 2 * 1024 * 1024;

/** What an in-process probe found: a summary, or why ffprobe must read the file instead. */
export type InProcessOutcome = { ok: true; media: MediaSummary } | { ok: false; why: string };

/** A probe outcome and which reader produced it. */
export type FastProbeOutcome = ProbeOutcome & { by: 'mediainfo' | 'ffprobe'; fallback?: string };

/**
 * Reads files with MediaInfoLib (mediainfo.js, WebAssembly) in this process: no process start
 * per file. Instances are not re-entrant, so each probe borrows one of at most `instances`.
 */
export class InProcessProber {
  private readonly idle: MediaInfo<'object'>[] = [];
  private created = 0;
  private readonly waiting: ((mi: MediaInfo<'object'>) => void)[] = [];

  constructor(private readonly instances = 2) {}

  /** The summary of `path`, or why it needs ffprobe (unreadable, unsure, over budget). */
  async probe(path: string): Promise<InProcessOutcome> {
    const mi = await this.borrow();
    try {
      const tracks = await analyze(mi, path);
      return summarizeMediaInfo(tracks);
    } catch (err) {
      return { ok: false, why: `mediainfo: ${(err as Error).message}` };
    } finally {
      this.give(mi);
    }
  }

  /**
   * In process where it can be read alike, else ffprobe (the reference); errors as
   * {@link tryProbeMedia}.
   */
  async probeOrFallback(
    path: string,
    opts: { signal?: AbortSignal } = {},
  ): Promise<FastProbeOutcome> {
    const fast = await this.probe(path);
    if (fast.ok) return { ...fast, by: 'mediainfo' };
    return { ...(await tryProbeMedia(path, opts)), by: 'ffprobe', fallback: fast.why };
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
    const result = await mi.analyzeData(size, async (length, offset) => {
      if (read >= IN_PROCESS_READ_BUDGET) {
        overBudget = true;
        return new Uint8Array(0);
      }
      const buf = new Uint8Array(Math.min(length, IN_PROCESS_READ_BUDGET - read + 1));
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      read += bytesRead;
      return buf.subarray(0, bytesRead);
    });
    const tracks = (result.media?.track ?? []) as unknown as Track[];
    // Stopped short: what was found stands only if it is complete (checked by the mapping);
    // an mp4 whose index lies past the budget has no tracks and goes to ffprobe.
    if (overBudget && tracks.length < 2) throw new Error('read budget spent before the tracks');
    return tracks;
  } finally {
    await fh.close();
  }
}
