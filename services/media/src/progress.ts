/** One progress report from ffmpeg's `-progress` output. */
export interface FfmpegProgress {
  /** 0–100 when the input duration is known, else null. */
  percent: number | null;
  fps: number | null;
  /** Encode speed as a multiple of real time. */
  speed: number | null;
  outTimeSec: number;
  /** Bytes written to the output so far (`total_size`), null before ffmpeg knows. */
  outBytes: number | null;
}

/**
 * Turns one `-progress` block (the key=value lines up to and including `progress=…`) into a
 * report. ffmpeg writes `N/A` before it knows a value, so every field is optional.
 */
export function parseProgressBlock(
  block: Record<string, string>,
  durationSec: number | null,
): FfmpegProgress {
  // out_time_us and out_time_ms both hold microseconds (the latter is a historical misnomer).
  const micros = finite(block.out_time_us) ?? finite(block.out_time_ms);
  const outTimeSec = micros !== null && micros > 0 ? micros / 1e6 : 0;
  const fps = finite(block.fps);
  const speed = finite(block.speed?.replace(/x$/, ''));
  let percent: number | null = null;
  if (durationSec && durationSec > 0) {
    percent = block.progress === 'end' ? 100 : Math.min(100, (outTimeSec / durationSec) * 100);
  }
  const outBytes = finite(block.total_size);
  return { percent, fps, speed, outTimeSec, outBytes };
}

/** Accumulates `-progress` lines and calls `onBlock` with each complete block. */
export class ProgressLineReader {
  private block: Record<string, string> = {};
  private partial = '';
  constructor(private readonly onBlock: (block: Record<string, string>) => void) {}

  push(chunk: string): void {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      const key = line.slice(0, eq).trim();
      this.block[key] = line.slice(eq + 1).trim();
      if (key === 'progress') {
        this.onBlock(this.block);
        this.block = {};
      }
    }
  }
}

function finite(raw: string | undefined): number | null {
  if (raw === undefined || raw === '' || raw === 'N/A') return null;
  const n = Number(raw);
  return Number.isFinite(n) ? n : null;
}
