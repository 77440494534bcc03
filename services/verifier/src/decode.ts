import type { VerificationDecode } from '@conform/contracts';
import { runTool, type ToolResult } from './tool.js';
import { decodePassArgs, deviceVerdict, trialDecodeArgs, type DecodeDevice } from './device.js';
import type { VideoFacts } from './facts.js';

/** What a full decode of the output reported. */
export interface DecodeResult {
  exitCode: number | null;
  /** ffmpeg's error lines (`-v error`); an intact file decodes with none. */
  errors: string[];
  /** Video frames decoded (ffmpeg's last `-progress` report), null when it reported none. */
  frames: number | null;
}

/** The last `frame=` figure of ffmpeg's `-progress` output. Pure. */
export function parseProgressFrames(stdout: string): number | null {
  const all = [...stdout.matchAll(/^frame=(\d+)\s*$/gm)];
  const last = all.at(-1)?.[1];
  return last === undefined ? null : Number(last);
}

function errorLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** Decodes the main video and every audio stream of `path` to nothing, collecting errors. */
export async function decodePass(
  path: string,
  opts: { signal?: AbortSignal; device?: DecodeDevice } = {},
): Promise<DecodeResult> {
  return decodeResultOf(
    await runTool('ffmpeg', decodePassArgs(opts.device ?? 'software', path), opts),
  );
}

/** A decode run's exit, error lines (`-v error`) and last `-progress` frame count. Pure. */
export function decodeResultOf(run: ToolResult): DecodeResult {
  return {
    exitCode: run.exitCode,
    errors: errorLines(run.stderr),
    frames: parseProgressFrames(run.stdout),
  };
}

/**
 * Where to decode the output: on the encode's device when the output's codec and format allow
 * it and a trial decode of three frames there succeeds; else software, with the reason (the
 * trial's own last error line). Read → decide, as the encoder chooses its hardware decode.
 */
export async function chooseDecodeDevice(
  encoder: string,
  video: Pick<VideoFacts, 'codec' | 'pixFmt'> | null,
  path: string,
  opts: { signal?: AbortSignal } = {},
): Promise<VerificationDecode> {
  const verdict = deviceVerdict(encoder, video);
  if (verdict.device === 'software') return verdict;
  const trial = await runTool('ffmpeg', trialDecodeArgs(verdict.device, path), opts);
  const errors = errorLines(trial.stderr);
  if (trial.exitCode !== 0 || errors.length > 0) {
    const said = errors.at(-1) ?? `exit ${String(trial.exitCode)}`;
    return {
      device: 'software',
      reason: `software decode: the trial decode on ${verdict.device} failed (${said})`,
    };
  }
  return {
    device: verdict.device,
    reason: `decoding on ${verdict.device}, where ${encoder} encoded`,
  };
}

/**
 * The full decode pass on the chosen path. A device that fails mid-file (after a good trial)
 * says nothing certain about the file, so the pass is run again in software and that verdict
 * stands, with the reason recorded.
 */
export async function fullDecode(
  path: string,
  choice: VerificationDecode,
  opts: { signal?: AbortSignal } = {},
): Promise<{ result: DecodeResult; decode: VerificationDecode }> {
  const result = await decodePass(path, { ...opts, device: choice.device });
  const clean = result.exitCode === 0 && result.errors.length === 0;
  if (choice.device === 'software' || clean) return { result, decode: choice };
  return {
    result: await decodePass(path, { ...opts, device: 'software' }),
    decode: {
      device: 'software',
      reason:
        `software decode: the decode on ${choice.device} reported ` +
        `${result.errors.at(0) ?? `exit ${String(result.exitCode)}`}; decoded again in software`,
    },
  };
}
