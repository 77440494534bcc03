/** The HEVC encoders the encoder knows how to drive. */
export type HevcEncoder = 'libx265' | 'hevc_nvenc';

/** What {@link buildEncodeArgs} needs. */
export interface EncodeArgsInput {
  inputPath: string;
  /** The file ffmpeg writes (the `.partial` path): the format is given explicitly, not guessed. */
  outputPath: string;
  encoder: HevcEncoder;
  container: 'mkv' | 'mp4';
}

/**
 * The ffmpeg arguments for one encode: the first video stream re-encoded to HEVC, every audio
 * and subtitle stream, metadata and chapters copied untouched.
 */
export function buildEncodeArgs(input: EncodeArgsInput): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-y',
    '-i',
    input.inputPath,
    '-map',
    '0:v:0',
    '-map',
    '0:a?',
    '-map',
    '0:s?',
    ...videoArgs(input.encoder),
    '-c:a',
    'copy',
    '-c:s',
    'copy',
    '-map_metadata',
    '0',
    '-map_chapters',
    '0',
    // Sparse subtitle streams can otherwise overflow the muxer queue on long files.
    '-max_muxing_queue_size',
    '1024',
    ...containerArgs(input.container),
    input.outputPath,
  ];
}

function videoArgs(encoder: HevcEncoder): string[] {
  switch (encoder) {
    case 'libx265':
      // CRF 26 at preset fast: visually close to a typical h264 source at about half the size,
      // at a speed a home server's CPU can sustain.
      return [
        '-c:v',
        'libx265',
        '-preset',
        'fast',
        '-crf',
        '26',
        '-x265-params',
        'log-level=error',
      ];
    case 'hevc_nvenc':
      return ['-c:v', 'hevc_nvenc', '-preset', 'p5', '-rc', 'vbr', '-cq', '28', '-b:v', '0'];
  }
}

function containerArgs(container: 'mkv' | 'mp4'): string[] {
  switch (container) {
    case 'mp4':
      // hvc1 is the tag Apple players require; faststart lets players start before the end loads.
      return ['-tag:v', 'hvc1', '-movflags', '+faststart', '-f', 'mp4'];
    case 'mkv':
      return ['-f', 'matroska'];
  }
}
