import { ConformError } from '@conform/contracts';

/** Base of the media adapter's errors; `code` is stable for programs to match on. */
export class MediaError extends ConformError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'MediaError';
  }
}

/** ffprobe could not read the file: missing, empty, truncated or not media at all. */
export class MediaUnreadableError extends MediaError {
  readonly path: string;
  /** ffprobe's own explanation (its last stderr line), e.g. "Invalid data found when processing input". */
  readonly reason: string;
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super('MEDIA_UNREADABLE', `cannot read media ${path}: ${reason}`, options);
    this.name = 'MediaUnreadableError';
    this.path = path;
    this.reason = reason;
  }
}

/** ffmpeg or ffprobe is not installed (or not on PATH). */
export class ToolMissingError extends MediaError {
  readonly tool: string;
  constructor(tool: string, options?: { cause?: unknown }) {
    super(
      'TOOL_MISSING',
      `${tool} was not found on PATH (install it: apt-get install ${tool === 'nice' ? 'coreutils' : 'ffmpeg'})`,
      options,
    );
    this.name = 'ToolMissingError';
    this.tool = tool;
  }
}

/** ffmpeg exited non-zero; `stderrTail` holds its last lines, which name the real problem. */
export class FfmpegFailedError extends MediaError {
  readonly exitCode: number | null;
  readonly stderrTail: string[];
  constructor(exitCode: number | null, stderrTail: string[], options?: { cause?: unknown }) {
    const last = stderrTail.slice(-5).join(' | ') || 'no error output';
    super('FFMPEG_FAILED', `ffmpeg exited with ${exitCode ?? 'a signal'}: ${last}`, options);
    this.name = 'FfmpegFailedError';
    this.exitCode = exitCode;
    this.stderrTail = stderrTail;
  }
}

/** ffmpeg was killed because its abort signal fired; the process has exited by the time this is thrown. */
export class FfmpegAbortedError extends MediaError {
  constructor(options?: { cause?: unknown }) {
    super('FFMPEG_ABORTED', 'ffmpeg was stopped before it finished', options);
    this.name = 'FfmpegAbortedError';
  }
}
