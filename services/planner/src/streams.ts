import {
  assertNever,
  type MediaSummary,
  type StreamInfo,
  type StreamKind,
  type StreamPlan,
} from '@conform/contracts';
import type { Policy } from './policy.js';

/** Image subtitle codecs: they copy as they are and only mkv holds them. */
export const IMAGE_SUBTITLES = new Set([
  'hdmv_pgs_subtitle',
  'dvd_subtitle',
  'dvb_subtitle',
  'xsub',
]);
const MP4_AUDIO = new Set(['aac', 'ac3', 'eac3', 'mp3', 'alac', 'opus', 'flac']);

/**
 * The plan for every stream besides the main video, in source order: audio and subtitles by
 * language and codec, then cover art, attachments, data streams and extra video streams, each
 * by an explicit rule whose reason goes into the plan. Pure.
 */
export function planStreams(
  media: MediaSummary,
  subtitles: { kept: StreamInfo[]; dropped: StreamInfo[] },
  policy: Policy,
  container: 'mkv' | 'mp4',
  reasons: string[],
): StreamPlan[] {
  const streams = media.streams ?? [];
  return [
    ...planAudio(streams, policy, container, reasons),
    ...planSubtitles(subtitles, container, reasons),
    ...streams.flatMap((s) => planOther(s, media, policy, container, reasons)),
  ].sort((a, b) => a.index - b.index);
}

function planOther(
  s: StreamInfo,
  media: MediaSummary,
  policy: Policy,
  container: 'mkv' | 'mp4',
  reasons: string[],
): StreamPlan[] {
  const plan = (action: 'copy' | 'drop', reason: string): StreamPlan[] => {
    reasons.push(reason);
    return [{ index: s.index, kind: s.kind, action, codec: null, bitrateKbps: null, reason }];
  };
  switch (s.kind) {
    case 'audio':
    case 'subtitle':
      return [];
    case 'cover':
      return policy.streams.coverArt === 'keep'
        ? plan(
            'copy',
            `keep cover art (stream ${s.index}, ${s.codec})${container === 'mkv' ? ' as an image attachment' : ''}: policy streams.coverArt is keep`,
          )
        : plan('drop', `drop cover art (stream ${s.index}): policy streams.coverArt is drop`);
    case 'attachment': {
      const name = s.filename ?? s.codec;
      if (policy.streams.attachments === 'drop') {
        return plan(
          'drop',
          `drop attachment ${name} (stream ${s.index}): policy streams.attachments is drop`,
        );
      }
      return plan(
        'copy',
        `keep attachment ${name} (stream ${s.index}): policy streams.attachments is keep`,
      );
    }
    case 'data': {
      const timecode = media.video?.timecode;
      return plan(
        'drop',
        `drop data stream ${s.index} (${s.codecTag ?? s.codec}): neither mkv nor mp4 carries it as a stream` +
          (timecode ? `; the start timecode ${timecode} is kept as the video's timecode tag` : ''),
      );
    }
    case 'video':
      return plan(
        'drop',
        `drop extra video stream ${s.index} (${s.codec}): conform encodes the first video stream only`,
      );
    default:
      return assertNever(s.kind, 'stream kind');
  }
}

export function keptStreams(
  streams: StreamInfo[] | undefined,
  kind: StreamKind,
  languages: string[],
): { kept: StreamInfo[]; dropped: StreamInfo[] } {
  const all = (streams ?? []).filter((s) => s.kind === kind);
  const wanted = (s: StreamInfo) =>
    languages.length === 0 || s.language === null || languages.includes(s.language);
  return { kept: all.filter(wanted), dropped: all.filter((s) => !wanted(s)) };
}

function planAudio(
  streams: StreamInfo[],
  policy: Policy,
  container: 'mkv' | 'mp4',
  reasons: string[],
): StreamPlan[] {
  const { keepLanguages, allowedCodecs, reencode } = policy.audio;
  let { kept, dropped } = keptStreams(streams, 'audio', keepLanguages);
  if (kept.length === 0 && dropped.length > 0) {
    // A film without sound is worse than one in the wrong language.
    const first = dropped[0]!;
    reasons.push(
      `no audio track in ${keepLanguages.join(', ')}: keeping track ${first.index} (${first.language ?? 'untagged'})`,
    );
    kept = [first];
    dropped = dropped.slice(1);
  }
  const plans: StreamPlan[] = dropped.map((s) => {
    reasons.push(`drop audio track ${s.index} (${s.language}): language not kept`);
    return { index: s.index, kind: 'audio', action: 'drop', codec: null, bitrateKbps: null };
  });
  const lossless = policy.audio.lossless;
  // The film's original language: that of the first audio track in the file.
  const original = streams.find((s) => s.kind === 'audio')?.language ?? null;
  for (const s of kept) {
    const heavy = losslessRule(s, lossless, original);
    if (heavy) {
      reasons.push(
        `convert audio track ${s.index} (${heavy}) to ${lossless.codec} ${lossless.bitrateKbps} kbit/s: policy audio.lossless`,
      );
      plans.push({
        index: s.index,
        kind: 'audio',
        action: 'convert',
        codec: lossless.codec,
        bitrateKbps: lossless.bitrateKbps,
      });
      continue;
    }
    if (lossless.convert && isHeavy(s, lossless) && original !== null && s.language === original) {
      reasons.push(
        `keep audio track ${s.index} (${s.codec}, ${original}) lossless: the original language (audio.lossless.keepOriginalLanguage)`,
      );
    }
    const notAllowed = allowedCodecs.length > 0 && !allowedCodecs.includes(s.codec);
    const notInMp4 = container === 'mp4' && !MP4_AUDIO.has(s.codec);
    if (notAllowed || notInMp4) {
      reasons.push(
        `re-encode audio track ${s.index} from ${s.codec} to ${reencode.codec} ${reencode.bitrateKbps} kbit/s: ${notAllowed ? 'codec not in the allowed list' : 'mp4 cannot hold it'}`,
      );
      plans.push({
        index: s.index,
        kind: 'audio',
        action: 'convert',
        codec: reencode.codec,
        bitrateKbps: reencode.bitrateKbps,
      });
    } else {
      plans.push({ index: s.index, kind: 'audio', action: 'copy', codec: null, bitrateKbps: null });
    }
  }
  return plans;
}

const LOSSLESS_CODECS = new Set(['truehd', 'mlp', 'flac', 'alac']);

/** Lossless by codec (or DTS-HD MA by profile), or lossy above the policy's rate: why, or null. */
function isHeavy(s: StreamInfo, rule: Policy['audio']['lossless']): string | null {
  if (LOSSLESS_CODECS.has(s.codec) || s.codec.startsWith('pcm_')) return `${s.codec}, lossless`;
  if (s.codec === 'dts' && /MA/.test(s.profile ?? '')) return `DTS-HD MA, lossless`;
  if (s.bitRate && s.bitRate / 1000 >= rule.minBitrateKbps) {
    return `${s.codec} at ${Math.round(s.bitRate / 1000)} kbit/s, at or above ${rule.minBitrateKbps}`;
  }
  return null;
}

/** Why the lossless rule converts this track, or null when it leaves it. Pure. */
function losslessRule(
  s: StreamInfo,
  rule: Policy['audio']['lossless'],
  original: string | null,
): string | null {
  if (!rule.convert) return null;
  const heavy = isHeavy(s, rule);
  if (!heavy) return null;
  if (rule.languages.length > 0 && (s.language === null || !rule.languages.includes(s.language))) {
    return null;
  }
  if (rule.keepOriginalLanguage && original !== null && s.language === original) return null;
  return heavy;
}

function planSubtitles(
  subtitles: { kept: StreamInfo[]; dropped: StreamInfo[] },
  container: 'mkv' | 'mp4',
  reasons: string[],
): StreamPlan[] {
  const plans: StreamPlan[] = subtitles.dropped.map((s) => {
    reasons.push(`drop subtitle track ${s.index} (${s.language}): language not kept`);
    return { index: s.index, kind: 'subtitle', action: 'drop', codec: null, bitrateKbps: null };
  });
  for (const s of subtitles.kept) {
    // Text subtitles change format to what the container holds; image ones only ever copy.
    const convertTo = IMAGE_SUBTITLES.has(s.codec)
      ? null
      : container === 'mp4' && s.codec !== 'mov_text'
        ? 'mov_text'
        : container === 'mkv' && s.codec === 'mov_text'
          ? 'subrip'
          : null;
    if (convertTo) {
      reasons.push(
        `convert subtitle track ${s.index} from ${s.codec} to ${convertTo} for ${container}`,
      );
      plans.push({
        index: s.index,
        kind: 'subtitle',
        action: 'convert',
        codec: convertTo,
        bitrateKbps: null,
      });
    } else {
      plans.push({
        index: s.index,
        kind: 'subtitle',
        action: 'copy',
        codec: null,
        bitrateKbps: null,
      });
    }
  }
  return plans;
}
