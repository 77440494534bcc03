import type { EncodeArgsInput, Hdr10Signal } from './args.js';
import type { EncodeProfile, HwDecode } from './profiles.js';

// The video part of one encode's arguments (filters, encoder, quality, HDR flags); the wrapper
// in args.ts maps the streams and adds metadata and the container around it.

/** The main video's filter chain, encoder, pixel format, preset, quality and HDR flags. */
export function videoEncodeArgs(input: EncodeArgsInput, pixFmt: string, tenBit: boolean): string[] {
  const { profile } = input;
  const args: string[] = [];
  // Most encoders refuse odd widths or heights with 4:2:0 chroma; never upscale.
  const filters = [
    // Fields are weaved back into frames before scaling, which would blend them.
    ...(input.deinterlace
      ? [`bwdif=mode=send_frame:parity=${input.deinterlace.parity}:deint=all`]
      : []),
    input.frameSize
      ? `scale=${input.frameSize.width}:${input.frameSize.height}`
      : input.maxHeight
        ? `scale=w=-2:h='trunc(min(ih,${Math.floor(input.maxHeight)})/2)*2'`
        : 'scale=trunc(iw/2)*2:trunc(ih/2)*2',
  ];
  if (profile.uploadFilter) {
    filters.push(tenBit ? profile.uploadFilter.tenBit : profile.uploadFilter.eightBit);
  }
  // The filter is for the main video only: cover art mapped into mp4 is copied, not filtered.
  args.push('-filter:v:0', filters.join(','), '-c:v', profile.encoder, '-pix_fmt', pixFmt);
  // Variable frame rate stays variable: mp4 would otherwise duplicate frames up to a constant rate.
  args.push('-fps_mode', 'passthrough');
  args.push(...profile.presetArgs);
  args.push(profile.quality.flag, String(qualityFor(profile, input.quality)));
  args.push(...profile.quality.extra);
  args.push(...privateParams(profile, input.hdr10));
  if (input.hdr10) {
    args.push('-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc');
  }
  return args;
}

/** The hardware pipeline's filter chain (device deinterlacer and scaler) and encoder flags. */
export function hwVideoEncodeArgs(input: EncodeArgsInput, hw: HwDecode, tenBit: boolean): string[] {
  const { profile } = input;
  // hwDecodeVerdict only allows plans that name their frame size.
  const size = input.frameSize!;
  const filters = [
    ...(input.deinterlace ? [hw.deinterlace(input.deinterlace.parity)] : []),
    hw.scale(size.width, size.height, tenBit),
  ];
  const args = ['-filter:v:0', filters.join(','), '-c:v', profile.encoder];
  args.push('-fps_mode', 'passthrough', ...profile.presetArgs);
  args.push(profile.quality.flag, String(qualityFor(profile, input.quality)));
  args.push(...profile.quality.extra, ...privateParams(profile, input.hdr10));
  if (input.hdr10) {
    args.push('-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc');
  }
  return args;
}

function qualityFor(profile: EncodeProfile, asked: number | null): number {
  if (asked === null || !Number.isFinite(asked)) return profile.quality.default;
  return Math.min(profile.quality.max, Math.max(profile.quality.min, Math.round(asked)));
}

function privateParams(profile: EncodeProfile, hdr10: Hdr10Signal | null): string[] {
  if (!profile.privateParams) return [];
  const params = [...profile.privateParams.base];
  if (hdr10 && profile.hdrMetadata === 'x265-params') {
    // repeat-headers: players joining mid-stream (and mkv remuxers) still see the HDR SEI.
    params.push('hdr10=1', 'hdr10-opt=1', 'repeat-headers=1');
    if (hdr10.masterDisplay) params.push(`master-display=${hdr10.masterDisplay}`);
    if (hdr10.maxCll) params.push(`max-cll=${hdr10.maxCll}`);
  }
  return [profile.privateParams.flag, params.join(':')];
}
