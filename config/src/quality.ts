import { invalidAt } from './config-errors.js';
import { effectivePolicy, normaliseConfig } from './normalise.js';
import { checkLibraries } from './rules.js';
import { parseYaml, readYaml, type YamlSource } from './yaml-source.js';
import {
  resolveIntegrations,
  type IntegrationsConfig,
  type RawIntegrations,
} from './integrations.js';

// quality.yaml in three stages, each in its own file (changesets' config package is the model):
// parse (yaml-source.ts: YAML with the line of every key), normalise (normalise.ts: the schema
// with its defaults, effective policies), rules (rules.ts: what spans keys). This file holds
// the resulting types and the entry points.

/** Target video codec a policy can ask for. */
export type TargetVideoCodec = 'hevc' | 'av1' | 'h264';

/** Constant-quality level per encoder family (lower: better quality, bigger files). */
export interface QualityLevels {
  /** NVENC `-cq`. */
  nvencCq: number;
  /** libx265 / libx264 / libsvtav1 `-crf`. */
  cpuCrf: number;
  /** QSV `-global_quality`. */
  qsvQuality: number;
  /** VAAPI `-qp`. */
  vaapiQp: number;
}

/** One library's effective quality policy: the global defaults with its overrides applied. */
export interface QualityPolicy {
  video: {
    codec: TargetVideoCodec;
    quality: QualityLevels;
    /** Largest output height; taller sources are downscaled, nothing is upscaled. null: source size. */
    maxHeight: number | null;
    tenBit: boolean;
    /** keep: encode HDR keeping HDR10 colour metadata; skip: leave HDR files alone. */
    hdr: 'keep' | 'skip';
    /** HDR10+ / Dolby Vision: skip (default) or encode the HDR10 base layer only. */
    dynamicHdr: 'skip' | 'baseLayer';
    /** auto: deinterlace what field order or idet shows interlaced; always; never. */
    deinterlace: 'auto' | 'always' | 'never';
    /** Keep 4:2:2 / 4:4:4 chroma where the encoder supports it; false outputs 4:2:0. */
    keepChroma: boolean;
  };
  compliant: {
    /** Video codecs (ffprobe names) that need no re-encode. */
    codecs: string[];
    /** Bit-rate ceiling in kbit/s per resolution class, keyed by height ("1080"). */
    maxBitrateKbps: Record<string, number>;
  };
  audio: {
    /** Languages to keep (plus untagged); empty keeps all. */
    keepLanguages: string[];
    /** Codecs copied as they are; empty copies everything. */
    allowedCodecs: string[];
    reencode: { codec: 'aac' | 'ac3' | 'eac3' | 'opus'; bitrateKbps: number };
    /** Optional conversion of lossless / very high bit-rate tracks. */
    lossless: {
      convert: boolean;
      codec: 'eac3' | 'ac3' | 'opus' | 'aac';
      bitrateKbps: number;
      /** Only tracks in these languages; empty: every language. */
      languages: string[];
      /** Leave the original-language tracks (the first audio track's language) lossless. */
      keepOriginalLanguage: boolean;
      minBitrateKbps: number;
    };
  };
  subtitles: {
    keepLanguages: string[];
    /** What to do when an mp4 target meets image subtitles: switch to mkv, or skip the file. */
    imageSubtitlesInMp4: 'mkv' | 'skip';
  };
  container: 'mkv' | 'mp4' | 'keep';
  minimum: { sizeMB: number; durationSec: number };
  /** Globs against the path relative to the library. */
  exclude: string[];
  guardrails: { minSavingPercent: number; maxOutputRatio: number; minFreeDiskGB: number };
  /** The decode health check before an encode; a failing source is `damaged`. */
  health: { check: 'quick' | 'full' | 'off'; maxErrors: number };
  /** Files modified less than this many minutes ago are held back; absent: no hold. */
  holdNewFilesMinutes?: number;
  /** Cover art, attachments and chapters: kept or dropped (data streams are always dropped). */
  streams: { coverArt: 'keep' | 'drop'; attachments: 'keep' | 'drop'; chapters: 'keep' | 'drop' };
}

/** A library as the config file declares it, with its effective policy and that policy's version. */
export interface LibraryConfig {
  name: string;
  root: string;
  /** Null only when keepOriginals is true. */
  archive: string | null;
  keepOriginals: boolean;
  /** Opt-in retention: delete archived originals this many days after the swap. */
  deleteOriginalsAfterDays: number | null;
  /** Leftovers (failed swaps' and verifications' outputs, their archive copies): hours, keepMtime. */
  keepMtime: boolean;
  workRetentionHours: number;
  /** Which files are watched, and how. */
  watch: LibraryWatch;
  /** Queue order of this library's encodes within a planning batch; null: as discovered. */
  order: QueueOrder | null;
  /** Higher goes first within a planning batch; default 0. */
  priority: number;
  /** Files of this library the planner probes at once; null: one per CPU core. */
  parallelism: number | null;
  policy: QualityPolicy;
  /** {@link policyVersion} of `policy`. */
  policyVersion: string;
}

/** How a library's encodes are ordered in the queue (`order:` in quality.yaml). */
export type QueueOrder = 'smallest' | 'largest' | 'oldest' | 'newest' | 'biggest-saving';

/** Which files of a library are watched, and how (`watch:` in quality.yaml). */
export interface LibraryWatch {
  include?: string[];
  exclude?: string[];
  extensions?: string[];
  /** Poll instead of inotify (network mounts). */
  usePolling: boolean;
  /** Full walk every this many ms; 0 = never. */
  rescanIntervalMs: number;
}

/** A validated quality.yaml. */
export interface QualityConfig {
  file: string;
  defaults: QualityPolicy;
  libraries: LibraryConfig[];
  /** Media servers, *arr apps, notifications (`integrations:`); empty when absent. */
  integrations: IntegrationsConfig;
}

export { policyVersion } from './normalise.js';

/** The policy when nothing is configured: every schema default (everything to HEVC, copy all streams). */
export function defaultQualityPolicy(): QualityPolicy {
  return effectivePolicy(undefined, undefined);
}

/** Reads, validates and resolves a quality.yaml; every error names file, line and key. */
export async function loadQualityConfig(file: string): Promise<QualityConfig> {
  return resolveQualityConfig(await readYaml(file));
}

/** Like {@link loadQualityConfig}, from text. */
export function parseQualityConfig(text: string, file: string): QualityConfig {
  return resolveQualityConfig(parseYaml(text, file));
}

/**
 * Turns a parsed YAML source (the parse stage, yaml-source.ts) into the config: the normalise
 * stage (schema, defaults, effective policies: normalise.ts), then the rules stage (rules.ts,
 * integrations.ts). Each stage's error names file, line and key.
 */
export function resolveQualityConfig(src: YamlSource): QualityConfig {
  const { withDefaults, defaults, libraries } = normaliseConfig(src);
  checkLibraries(src, libraries);
  // RawConfig is the file as written; normalise has filled every schema default in by now.
  const integrations = resolveIntegrations(
    withDefaults.integrations as RawIntegrations | undefined,
    (pointer, message) => invalidAt(src, pointer, message),
  );
  return { file: src.file, defaults, libraries, integrations };
}
