// Where the output's facts probe also reads packets (the keyframes a split decode pass may
// start at), worked out before that probe: from the source's facts, or, to start the probe
// beside the source's own, from the duration the plan recorded. Pure.
import type { EncodeCompletedData } from '@conform/contracts';
import { encoderDevice } from './device.js';
import type { MediaFacts } from './facts.js';
import { decodeRangeCount } from './measure.js';
import { boundaryWindows } from './ranges.js';

/** How far each window of {@link outputWindows} reaches past what the output's own reading would. */
export const OUTPUT_WINDOW_MARGIN_SEC = 1;

/**
 * How much wider the windows placed by the plan's duration are ({@link plannedOutputWindows}):
 * the plan may have read the duration with another parser than the verifier's ffprobe, a frame
 * or two apart, which moves a boundary by a fraction of that.
 */
export const PLANNED_WINDOW_SLACK_SEC = 0.5;

/**
 * Where the output's facts probe also reads packets: around the boundaries of the decode
 * ranges, when the output will be decoded in software in one pass split into ranges
 * ({@link onePassFits}: a CPU encoder, an unrotated source); else none. The output's own start
 * is not known before its probe: ffmpeg writes it from 0 (no `-copyts`), and a second either
 * side of each window covers what it is off by, and the few frames the output's duration may
 * differ by.
 */
export function outputWindows(
  completed: Pick<EncodeCompletedData, 'encoder'>,
  source: Pick<MediaFacts, 'durationSec'> & { video: { rotation: number | null } | null },
  opts: { decodeRanges?: number; marginSec?: number } = {},
): string[] {
  const count = decodeRangeCount(source, opts.decodeRanges);
  const rotation = source.video?.rotation ?? null;
  const duration = source.durationSec;
  if (count < 2 || duration === null || !(duration > 0)) return [];
  if (encoderDevice(completed.encoder) !== null) return [];
  if (rotation !== null && Math.abs(rotation) >= 0.5) return [];
  return boundaryWindows(duration, count, 0, opts.marginSec ?? OUTPUT_WINDOW_MARGIN_SEC);
}

/**
 * The windows of an output probe started before the source's facts are in, placed by the
 * plan's duration (`encode.completed`'s `durationSec`), {@link PLANNED_WINDOW_SLACK_SEC} wider;
 * null without one (an event from before, a plan without a duration), or when no windows would
 * be read (nothing to split: the probe waits for the source's facts, which may differ).
 */
export function plannedOutputWindows(
  completed: Pick<EncodeCompletedData, 'encoder' | 'durationSec'>,
  opts: { decodeRanges?: number } = {},
): string[] | null {
  if (!completed.durationSec) return null;
  const windows = outputWindows(
    completed,
    { durationSec: completed.durationSec, video: null },
    { ...opts, marginSec: OUTPUT_WINDOW_MARGIN_SEC + PLANNED_WINDOW_SLACK_SEC },
  );
  return windows.length ? windows : null;
}

/**
 * Whether a probe that read `read` holds every packet a probe of `wanted` would: as many
 * windows, each within its counterpart (`start%end`, seconds). A window read wider only adds
 * keyframes a boundary may move to, each as good. `wanted` empty (a rotated source, a GPU
 * encode) needs no packets: a plain probe, not the planned one, keeps that path as it was.
 */
export function windowsCover(read: readonly string[], wanted: readonly string[]): boolean {
  if (wanted.length === 0 || read.length !== wanted.length) return false;
  const bounds = (w: string) => w.split('%').map(Number) as [number, number];
  return wanted.every((w, i) => {
    const [from, to] = bounds(w);
    const [readFrom, readTo] = bounds(read[i]!);
    return readFrom <= from && readTo >= to;
  });
}
