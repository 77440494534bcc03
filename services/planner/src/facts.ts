import type { FilePlannedData, IdetSample, MediaSummary } from '@conform/contracts';
import type { Policy } from './policy.js';

/**
 * The costly facts a plan may still need from the file, beyond the probe: an idet sample (a
 * decode of 200 frames) and the sizes of streams whose container records no bit rate (a read
 * of packets). Both only change what an encode does or is estimated to save, so a file that is
 * compliant, skipped or remuxed never pays for them.
 */
export interface FactsNeeded {
  /** Field order unknown, the policy deinterlaces by detection, and not sampled yet. */
  idet: boolean;
  /** Audio and subtitle streams whose bit rate is unknown (attachments have no packets). */
  streamRates: number[];
}

/**
 * What {@link FactsNeeded} a first plan (made without them) asks for. Without those facts an
 * estimate counts unknown streams as video, which only overstates the saving: a skip for too
 * little saving stays a skip once they are known, so only `encode` plans need them. Pure.
 */
export function factsNeeded(
  planned: FilePlannedData,
  media: MediaSummary,
  policy: Policy,
): FactsNeeded {
  if (planned.decision !== 'encode') return { idet: false, streamRates: [] };
  const video = media.video;
  const idet =
    !!video && !video.fieldOrder && video.idet === undefined && policy.video.deinterlace === 'auto';
  const streamRates =
    media.durationSec === null
      ? []
      : (media.streams ?? [])
          .filter((s) => s.kind === 'audio' || s.kind === 'subtitle')
          .filter((s) => s.bitRate === null || s.bitRate === undefined)
          .map((s) => s.index);
  return { idet, streamRates };
}

/** Whether anything is needed at all. */
export function needsFacts(needed: FactsNeeded): boolean {
  return needed.idet || needed.streamRates.length > 0;
}

/**
 * The probe with the facts taken added: the idet sample on the video, measured bit rates on the
 * streams that had none (streams it could not measure keep null). Pure.
 */
export function withFacts(
  media: MediaSummary,
  facts: { idet?: IdetSample | null; streamRates?: ReadonlyMap<number, number> },
): MediaSummary {
  const rates = facts.streamRates;
  return {
    ...media,
    ...(media.video && facts.idet !== undefined
      ? { video: { ...media.video, idet: facts.idet } }
      : {}),
    ...(media.streams && rates && rates.size > 0
      ? {
          streams: media.streams.map((s) =>
            (s.bitRate === null || s.bitRate === undefined) && rates.has(s.index)
              ? { ...s, bitRate: rates.get(s.index)! }
              : s,
          ),
        }
      : {}),
  };
}
