import { execa } from 'execa';
import { MediaUnreadableError, ToolMissingError } from './errors.js';

/** The first video stream's colour description, as the encoder needs it to carry HDR through. */
export interface VideoColour {
  pixFmt: string | null;
  colorPrimaries: string | null;
  colorTransfer: string | null;
  colorSpace: string | null;
  /** Bits per component, from the pixel format name (10 for `yuv420p10le`). */
  bitDepth: number;
  /** x265 `master-display` syntax from the first frame's side data, if any. */
  masterDisplay: string | null;
  /** `maxCLL,maxFALL` from the first frame's side data, if any. */
  maxCll: string | null;
}

interface ColourProbeJson {
  streams?: {
    pix_fmt?: string;
    color_primaries?: string;
    color_transfer?: string;
    color_space?: string;
  }[];
  frames?: { side_data_list?: Record<string, unknown>[] }[];
}

/** Whether the colour tags say HDR10 (PQ transfer, BT.2020 primaries). */
export function isHdr10(colour: VideoColour): boolean {
  return colour.colorTransfer === 'smpte2084' && colour.colorPrimaries === 'bt2020';
}

/** Reduces ffprobe's stream and first-frame JSON to {@link VideoColour}. Pure. */
export function summarizeColour(json: ColourProbeJson): VideoColour {
  const stream = json.streams?.[0] ?? {};
  const pixFmt = stream.pix_fmt ?? null;
  const depth = pixFmt ? /p(\d{2})(le|be)?$/.exec(pixFmt)?.[1] : undefined;
  const sideData = json.frames?.flatMap((f) => f.side_data_list ?? []) ?? [];
  const mastering = sideData.find((s) => s.side_data_type === 'Mastering display metadata');
  const light = sideData.find((s) => s.side_data_type === 'Content light level metadata');
  return {
    pixFmt,
    colorPrimaries: stream.color_primaries ?? null,
    colorTransfer: stream.color_transfer ?? null,
    colorSpace: stream.color_space ?? null,
    bitDepth: depth ? Number(depth) : 8,
    masterDisplay: mastering ? x265MasterDisplay(mastering) : null,
    maxCll:
      light && light.max_content !== undefined
        ? `${Number(light.max_content)},${Number(light.max_average ?? 0)}`
        : null,
  };
}

// x265 wants chromaticities in 1/50000 and luminance in 1/10000 cd/m²; ffprobe gives fractions.
function x265MasterDisplay(sd: Record<string, unknown>): string | null {
  const chroma = (key: string) => Math.round(ratio(sd[key]) * 50_000);
  const lum = (key: string) => Math.round(ratio(sd[key]) * 10_000);
  const keys = ['red_x', 'green_x', 'blue_x', 'white_point_x', 'max_luminance', 'min_luminance'];
  if (keys.some((k) => sd[k] === undefined)) return null;
  return (
    `G(${chroma('green_x')},${chroma('green_y')})B(${chroma('blue_x')},${chroma('blue_y')})` +
    `R(${chroma('red_x')},${chroma('red_y')})WP(${chroma('white_point_x')},${chroma('white_point_y')})` +
    `L(${lum('max_luminance')},${lum('min_luminance')})`
  );
}

function ratio(raw: unknown): number {
  const [n, d] = String(raw).split('/').map(Number);
  if (n === undefined || !Number.isFinite(n)) return 0;
  return d ? n / d : n;
}

/**
 * Reads the first video stream's colour tags and the first frame's HDR side data. Throws
 * {@link MediaUnreadableError} when the file has no readable video stream.
 */
export async function probeVideoColour(path: string): Promise<VideoColour> {
  const result = await execa(
    'ffprobe',
    [
      ...['-v', 'error', '-print_format', 'json', '-select_streams', 'v:0'],
      ...['-show_entries', 'stream=pix_fmt,color_primaries,color_transfer,color_space'],
      ...['-show_frames', '-read_intervals', '%+#1', '-show_entries', 'frame=side_data_list'],
      path,
    ],
    { reject: false },
  );
  if (result.code === 'ENOENT') throw new ToolMissingError('ffprobe');
  if (result.failed) {
    const last = String(result.stderr).trim().split('\n').pop() || `exit ${result.exitCode}`;
    throw new MediaUnreadableError(path, last);
  }
  return summarizeColour(JSON.parse(String(result.stdout)) as ColourProbeJson);
}
