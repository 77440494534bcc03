import type { IdetSample, MediaSummary } from '@conform/contracts';
import type { Policy } from './policy.js';

type Video = NonNullable<MediaSummary['video']>;

/** What the plan does about interlacing: deinterlace with a parity, or not; and why. */
export interface InterlaceDecision {
  deinterlace: { parity: 'tff' | 'bff' | 'auto' } | null;
  reasons: string[];
}

// ffprobe's field_order: the first letter is the field coded first, the second the one shown
// first; the one shown first is the parity a deinterlacer needs.
const FIELD_PARITY: Record<string, 'tff' | 'bff'> = { tt: 'tff', bt: 'tff', bb: 'bff', tb: 'bff' };

/**
 * Whether an idet sample shows interlacing: interlaced frames outnumber progressive ones three
 * to one and make up at least half of the frames idet could decide on. Pure.
 */
export function idetInterlaced(sample: IdetSample): 'tff' | 'bff' | null {
  const interlaced = sample.tff + sample.bff;
  const decided = interlaced + sample.progressive;
  if (decided === 0 || interlaced < 3 * sample.progressive || interlaced * 2 < decided) {
    return null;
  }
  return sample.tff >= sample.bff ? 'tff' : 'bff';
}

/**
 * The policy's `deinterlace` applied to the source: from its field order, else from the idet
 * sample the planner took; `always` deinterlaces every encode, `never` none. Pure.
 */
export function interlaceDecision(video: Video, policy: Policy): InterlaceDecision {
  const mode = policy.video.deinterlace;
  const order = video.fieldOrder ?? null;
  let parity: 'tff' | 'bff' | null = null;
  let evidence: string;
  if (order && order !== 'progressive') {
    parity = FIELD_PARITY[order] ?? 'tff';
    evidence = `field order ${order} (${parity === 'tff' ? 'top' : 'bottom'} field first)`;
  } else if (order === 'progressive') {
    evidence = 'field order progressive';
  } else if (video.idet) {
    const s = video.idet;
    parity = idetInterlaced(s);
    evidence = `field order unknown; idet over ${s.frames} frames from ${s.fromSec} s: TFF ${s.tff}, BFF ${s.bff}, progressive ${s.progressive}, undetermined ${s.undetermined} → ${parity ? `interlaced (${parity === 'tff' ? 'top' : 'bottom'} field first)` : 'progressive'}`;
  } else {
    evidence = 'field order unknown and not sampled';
  }
  switch (mode) {
    case 'never':
      return {
        deinterlace: null,
        reasons: parity
          ? [`interlaced source, ${evidence}: not deinterlaced (deinterlace: never)`]
          : [],
      };
    case 'always':
      return {
        deinterlace: { parity: parity ?? 'auto' },
        reasons: [`${evidence}: deinterlace with bwdif (deinterlace: always), progressive output`],
      };
    case 'auto':
      return parity
        ? {
            deinterlace: { parity },
            reasons: [`interlaced source, ${evidence}: deinterlace with bwdif, progressive output`],
          }
        : {
            deinterlace: null,
            reasons: order === 'progressive' ? [] : [`${evidence}: not deinterlaced`],
          };
  }
}
