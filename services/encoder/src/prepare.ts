import { lastEventOf, type HandlerContext, type ServiceContext } from '@conform/bus';
import type { DomainEventOf, EventEnvelope } from '@conform/contracts';
import { MediaUnreadableError, probeVideoColour, type VideoColour } from '@conform/media';
import { buildEncodeArgs } from './args.js';
import {
  encodeSettingsFor,
  knownColour,
  type EncodeAction,
  type EncodeSettings,
} from './decide.js';
import { EncoderError } from './errors.js';
import { chooseDecode } from './hwdecode.js';
import { noProfileFailure, permanentFailure } from './outcome.js';
import { CPU_ENCODER, ENCODE_PROFILES, type EncodeProfile, type VideoCodec } from './profiles.js';

/** One plan, ready for its device slot: the profile, settings and ffmpeg arguments. */
export interface PreparedEncode {
  kind: 'ready';
  profile: EncodeProfile;
  /** The encoder named in events: the profile's, or `copy` for a remux. */
  encoder: string;
  remux: boolean;
  settings: EncodeSettings & { hwDecode: boolean };
  args: string[];
  /** The pixel format really written when it differs from the plan's (for the verifier). */
  written: { pixFmt?: string; pixFmtReason?: string };
  /** Where the source's colour came from: the planner's probe in the log, or an ffprobe now. */
  colourFrom: 'plan' | 'ffprobe';
}

/**
 * Everything an encode needs before it takes a device slot, so a plan waiting for its slot is
 * ready to start the moment one frees: the profile, the source's colour (from the planner's
 * probe when it covers it, else an ffprobe), the decode path and the argument list. Returns the
 * plan's permanent `encode.failed` when there is no encoder, the source is unreadable or the
 * profile cannot take the plan.
 */
export async function prepareEncode(
  ctx: ServiceContext,
  profiles: ReadonlyMap<VideoCodec, EncodeProfile>,
  node: string,
  planned: EventEnvelope<'file.planned'>,
  action: Extract<EncodeAction, { kind: 'encode' }>,
  hctx: HandlerContext,
): Promise<PreparedEncode | { kind: 'failed'; event: DomainEventOf<'encode.failed'> }> {
  const { path } = planned.data;
  // A remux copies the video: it needs no working encoder, only the codec's manifest.
  const remux = action.target.videoCopy === true;
  const profile =
    profiles.get(action.target.videoCodec) ??
    (remux ? ENCODE_PROFILES[CPU_ENCODER[action.target.videoCodec]] : undefined);
  if (!profile) {
    return { kind: 'failed', event: noProfileFailure(planned, action.target.videoCodec, node) };
  }
  const encoder = remux ? 'copy' : profile.encoder;
  let colour: VideoColour;
  const known = knownColour(await plannersProbe(ctx, planned), planned.data.source);
  try {
    colour = known ?? (await probeVideoColour(path));
  } catch (err) {
    if (!(err instanceof MediaUnreadableError)) throw err;
    const event = permanentFailure(planned, encoder, `source is unreadable: ${err.reason}`);
    return { kind: 'failed', event };
  }
  // Decode on the GPU where the source allows and a trial decode works; else in software.
  const decode = await chooseDecode(profile, path, action.target, hctx.signal);
  hctx.log.info({ path, hwDecode: decode.hwDecode, why: decode.reason }, 'decode path');
  const settings = {
    ...encodeSettingsFor(action.target, profile, colour),
    hwDecode: decode.hwDecode,
  };
  const written = settings.formatFallback
    ? { pixFmt: settings.pixFmt!, pixFmtReason: settings.formatFallback }
    : {};
  let args: string[];
  try {
    args = buildEncodeArgs({ inputPath: path, outputPath: action.partialPath, ...settings });
  } catch (err) {
    if (!(err instanceof EncoderError)) throw err;
    return { kind: 'failed', event: permanentFailure(planned, encoder, err.message) };
  }
  const colourFrom = known ? 'plan' : 'ffprobe';
  return { kind: 'ready', profile, encoder, remux, settings, args, written, colourFrom };
}

/**
 * The planner's `file.probed` of this file, read from the log (one request, against an ffprobe
 * process per encode); null when there is none or the log cannot be read now, in which case
 * the encoder probes the source itself.
 */
async function plannersProbe(
  ctx: ServiceContext,
  planned: EventEnvelope<'file.planned'>,
): Promise<EventEnvelope<'file.probed'>['data'] | null> {
  try {
    return (await lastEventOf(ctx.bus, 'file.probed', planned.fileId))?.event.data ?? null;
  } catch {
    return null;
  }
}
