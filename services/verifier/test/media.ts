import { execFileSync } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import { sampleData, type EncodeCompletedData } from '@conform/contracts';
import { runFfmpeg } from '@conform/media';

/** Encodes `input` to HEVC the way the encoder does (every audio/subtitle stream copied). */
export async function encodeHevc(
  input: string,
  output: string,
  extra: string[] = [],
): Promise<void> {
  await runFfmpeg([
    '-nostdin',
    '-v',
    'error',
    '-y',
    '-i',
    input,
    '-map',
    '0:v:0',
    '-map',
    '0:a?',
    '-map',
    '0:s?',
    '-c:v',
    'libx265',
    '-preset',
    'ultrafast',
    '-x265-params',
    'log-level=error',
    '-c:a',
    'copy',
    '-c:s',
    'copy',
    ...extra,
    '-tag:v',
    'hvc1',
    '-movflags',
    '+faststart',
    '-f',
    'mp4',
    output,
  ]);
}

/**
 * Mounts a tmpfs of `size` at `dir` (root only). Fails loudly rather than skipping: a test that
 * needs a real full filesystem must not silently pass without one.
 */
export async function mountTmpfs(dir: string, size: string): Promise<() => void> {
  await mkdir(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(
      `this test needs a real small filesystem: mounting a ${size} tmpfs at ${dir} failed ` +
        `(run the tests as root, or in a container with CAP_SYS_ADMIN): ${(err as Error).message}`,
    );
  }
  return () => execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
}

/**
 * A 12 s H.264 clip with 1 s GOPs and AAC, and its HEVC encode in mkv with 2 s GOPs (`extra`:
 * more encode arguments, before the output).
 */
export async function makeLongPair(
  source: string,
  output: string,
  extra: string[] = [],
): Promise<void> {
  await runFfmpeg([
    '-nostdin',
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=320x240:rate=25:duration=12',
    '-f',
    'lavfi',
    '-i',
    'sine=duration=12',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-g',
    '25',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    source,
  ]);
  await runFfmpeg([
    '-nostdin',
    '-v',
    'error',
    '-i',
    source,
    '-c:v',
    'libx265',
    '-preset',
    'ultrafast',
    '-x265-params',
    'log-level=error:keyint=50:min-keyint=50:scenecut=0',
    '-c:a',
    'copy',
    ...extra,
    output,
  ]);
}

/** An `encode.completed` of `source` to `outputPath` (HEVC in Matroska), stamped with the source as it is now. */
export async function completedFor(
  library: string,
  source: string,
  outputPath: string,
  extra: Partial<EncodeCompletedData> = {},
): Promise<EncodeCompletedData> {
  const st = await stat(source);
  return {
    ...sampleData['encode.completed'],
    library,
    path: source,
    source: { size: st.size, mtimeMs: st.mtimeMs },
    outputPath,
    target: { videoCodec: 'hevc', container: 'mkv' },
    ...extra,
  };
}
