import type { MediaSummary } from '@conform/contracts';
import type { Policy } from './policy.js';

/** Chroma subsampling of a picture: 4:2:0, 4:2:2 or 4:4:4. */
export type Chroma = '420' | '422' | '444';

/** The output picture a plan asks for: pixel format and frame size, with the reasons. */
export interface OutputPicture {
  /** ffprobe's name of the output pixel format, e.g. `yuv420p10le`. */
  pixFmt: string;
  width: number;
  height: number;
  reasons: string[];
}

type Video = NonNullable<MediaSummary['video']>;

/**
 * The chroma of an ffprobe pixel format name. Planar YUV names carry it (`yuv422p10le`); the
 * semi-planar and packed hardware formats are listed; RGB is full chroma; anything else
 * (grey, palettes, 4:1:1 DV) is treated as 4:2:0, the format it is converted to. Pure.
 */
export function chromaOf(pixFmt: string | null | undefined): Chroma {
  const name = pixFmt ?? '';
  const yuv = /^yuva?j?(420|422|444)p/.exec(name);
  if (yuv) return yuv[1] as Chroma;
  if (/^(nv16|nv20|p210|p216|y210|yuyv422|uyvy422)/.test(name)) return '422';
  if (/^(nv24|nv42|p410|p416|y410|ayuv|vuya|gbr|rgb|bgr|argb|abgr|rgba|bgra|x2rgb)/.test(name)) {
    return '444';
  }
  return '420';
}

/** The bit depth a pixel format name carries: `yuv420p10le` → 10, `p010le` → 10, else 8. */
export function depthOf(pixFmt: string | null | undefined): number {
  const name = pixFmt ?? '';
  const planar = /p(\d{2})(le|be)?$/.exec(name);
  if (planar) return Number(planar[1]);
  const semi = /^p0(\d{2})/.exec(name);
  if (semi) return Number(semi[1]);
  return 8;
}

/** The ffprobe name of a planar YUV format: `yuv444p`, `yuv420p10le`. */
export function pixFmtName(chroma: Chroma, depth: 8 | 10): string {
  return `yuv${chroma}p${depth === 10 ? '10le' : ''}`;
}

// The encoders conform drives cannot do these (Debian's libx264 is 8-bit; SVT-AV1 is 4:2:0).
const MAX_DEPTH: Record<Policy['video']['codec'], 8 | 10> = { hevc: 10, av1: 10, h264: 8 };
const CHROMAS: Record<Policy['video']['codec'], readonly Chroma[]> = {
  hevc: ['420', '422', '444'],
  h264: ['420', '422', '444'],
  av1: ['420'],
};

/**
 * The policy applied to the source picture. Bit depth: 10 when the policy asks for it, for HDR,
 * and for sources already deeper than 8 bit (never lost to banding), unless the target codec
 * cannot. Chroma: 4:2:0 unless `keepChroma` keeps the source's 4:2:2 / 4:4:4. Frame size: the
 * source's (or its downscale to `maxHeight`), rounded down to what the chroma allows (4:2:0
 * needs even width and height, 4:2:2 an even width). Pure.
 */
export function outputPicture(
  video: Video,
  policy: Policy,
  hdr: boolean,
  maxHeight: number | null,
): OutputPicture {
  const reasons: string[] = [];
  const codec = policy.video.codec;
  const sourceChroma = chromaOf(video.pixFmt);
  const sourceDepth = video.bitDepth ?? depthOf(video.pixFmt);
  const source = video.pixFmt ?? 'unknown';

  let depth: 8 | 10 = policy.video.tenBit || hdr || sourceDepth > 8 ? 10 : 8;
  // HDR's own reason already says 10-bit.
  if (depth === 10 && !policy.video.tenBit && !hdr) {
    reasons.push(`source is ${sourceDepth}-bit (${source}): 10-bit output, not reduced`);
  }
  if (depth > MAX_DEPTH[codec]) {
    depth = MAX_DEPTH[codec];
    reasons.push(`${codec} output is 8-bit only here: 8-bit output`);
  }

  let chroma: Chroma = '420';
  if (sourceChroma !== '420') {
    if (!policy.video.keepChroma) {
      reasons.push(
        `source chroma ${label(sourceChroma)} (${source}): output 4:2:0 for playback compatibility (keepChroma is off)`,
      );
    } else if (!CHROMAS[codec].includes(sourceChroma)) {
      reasons.push(
        `source chroma ${label(sourceChroma)} (${source}): ${codec} encoders take 4:2:0 only, output 4:2:0`,
      );
    } else {
      chroma = sourceChroma;
      reasons.push(`source chroma ${label(sourceChroma)} kept (keepChroma)`);
    }
  }

  let width = video.width;
  let height = video.height;
  if (maxHeight !== null && height > maxHeight) {
    width = Math.round((width * maxHeight) / height);
    height = maxHeight;
  }
  const evenWidth = chroma !== '444';
  const evenHeight = chroma === '420';
  const w = evenWidth ? even(width) : width;
  const h = evenHeight ? even(height) : height;
  if (w !== width || h !== height) {
    reasons.push(
      `frame ${width}x${height} has odd dimensions, which ${label(chroma)} cannot hold: output ${w}x${h}`,
    );
  }
  return { pixFmt: pixFmtName(chroma, depth), width: w, height: h, reasons };
}

function even(n: number): number {
  return Math.max(2, Math.floor(n / 2) * 2);
}

function label(chroma: Chroma): string {
  return `${chroma[0]}:${chroma[1]}:${chroma[2]}`;
}
