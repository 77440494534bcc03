import { chooseEncoder, type EncoderAvailability } from './detect.js';
import {
  ENCODE_PROFILES,
  type Backend,
  type EncodeProfile,
  type EncoderName,
  type VideoCodec,
} from './profiles.js';

/** The codecs a plan can ask for, in the order the encoder picks their profiles. */
export const CODECS: readonly VideoCodec[] = ['hevc', 'h264', 'av1'];

/** Every device kind, in the order slot limits are worked out. */
export const BACKENDS: readonly Backend[] = ['cpu', 'nvenc', 'qsv', 'vaapi'];

/** Which profile encodes each codec on this node, and what the log should say about it. */
export interface ProfilePlan {
  profiles: Map<VideoCodec, EncodeProfile>;
  /** One line per codec that fell back to the CPU, with the reason. */
  fallbacks: string[];
  /** Codecs no working encoder can take here, with the reason. */
  unavailable: { codec: VideoCodec; err: unknown }[];
}

/**
 * Picks one profile per codec from what detection found (or the forced encoder for its codec).
 * Pure: availability comes in as data.
 */
export function planProfiles(
  availability: readonly EncoderAvailability[],
  forced: EncoderName | null,
): ProfilePlan {
  const profiles = new Map<VideoCodec, EncodeProfile>();
  const fallbacks: string[] = [];
  const unavailable: ProfilePlan['unavailable'] = [];
  for (const codec of CODECS) {
    try {
      const choice = chooseEncoder(codec, availability, forced);
      profiles.set(codec, choice.profile);
      if (choice.cpuFallback) fallbacks.push(`${codec}: ${choice.reason}`);
    } catch (err) {
      unavailable.push({ codec, err });
    }
  }
  return { profiles, fallbacks, unavailable };
}

/** How many encodes each device takes at once. */
export interface DevicePlan {
  /** The devices the chosen profiles run on. */
  devices: Backend[];
  /** Encodes at once per device kind. */
  limits: Record<Backend, number>;
}

/**
 * The device slots of a node: the devices its profiles use, and per device kind the operator's
 * `slots` (every device), else its `deviceSlots` entry, else the largest default of that
 * kind's profiles; never below 1. Pure. The NVENC limit may still be lowered to the driver's
 * measured session cap (see nvenc-sessions.ts).
 */
export function planDevices(
  profiles: ReadonlyMap<VideoCodec, EncodeProfile>,
  opts: { slots?: number; deviceSlots?: Partial<Record<Backend, number>> } = {},
): DevicePlan {
  const devices = [...new Set([...profiles.values()].map((p) => p.backend))];
  const limits = {} as Record<Backend, number>;
  for (const backend of BACKENDS) {
    const fallback = Math.max(
      ...Object.values(ENCODE_PROFILES)
        .filter((p) => p.backend === backend)
        .map((p) => p.defaultSlots),
    );
    limits[backend] = Math.max(1, opts.slots ?? opts.deviceSlots?.[backend] ?? fallback);
  }
  return { devices, limits };
}

/** Pull slots of the plan subscriptions: one per device slot in use here, at least one. Pure. */
export function pullSlotsFor(plan: DevicePlan): number {
  return plan.devices.reduce((sum, d) => sum + plan.limits[d], 0) || 1;
}
