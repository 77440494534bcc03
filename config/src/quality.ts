import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { configure } from 'safe-stable-stringify';
import { ConfigError } from './errors.js';
import { parseYaml, readYaml, type YamlSource } from './yaml-source.js';
import {
  resolveIntegrations,
  type IntegrationsConfig,
  type RawIntegrations,
} from './integrations.js';

// Keys sorted, undefined left out, lists as given: the same rules hash the same whatever the
// key order or file layout.
const canonicalJson = configure({ deterministic: true, bigint: false });

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

/** Absolute path of the published JSON Schema (the one `$schema` in quality.yaml points to). */
export const QUALITY_SCHEMA_PATH = new URL('../../quality.schema.json', import.meta.url).pathname;
/** Absolute path of the shipped config/quality.yaml. */
export const DEFAULT_QUALITY_CONFIG_PATH = new URL('../../quality.yaml', import.meta.url).pathname;
/** Absolute path of config/examples/. */
export const QUALITY_EXAMPLES_DIR = new URL('../../examples/', import.meta.url).pathname;

/** The JSON Schema of quality.yaml. */
export const qualitySchema = JSON.parse(readFileSync(QUALITY_SCHEMA_PATH, 'utf8')) as Record<
  string,
  unknown
>;

let compiled: { withDefaults: ValidateFunction; policyDefaults: ValidateFunction } | null = null;
function validators() {
  if (!compiled) {
    const ajv = new Ajv({
      allErrors: true,
      useDefaults: true,
      strict: true,
      allowUnionTypes: true,
      // Error messages quote the schema's descriptions and allowed keys.
      verbose: true,
    });
    ajv.addSchema(qualitySchema);
    const id = qualitySchema.$id as string;
    compiled = {
      withDefaults: ajv.getSchema(id)!,
      policyDefaults: ajv.compile({ $ref: `${id}#/definitions/policy` }),
    };
  }
  return compiled;
}

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

/** Validates a parsed YAML source against the schema (with defaults) and resolves each library's policy. */
export function resolveQualityConfig(src: YamlSource): QualityConfig {
  const raw = src.value;
  const withDefaults = structuredClone(raw ?? {});
  const { withDefaults: validate } = validators();
  if (!validate(withDefaults)) {
    throw configInvalid(src, validate.errors ?? []);
  }
  // Overrides come from the file as written: schema defaults filled into a library's policy
  // would otherwise mask the global defaults it is meant to inherit.
  const doc = raw as RawConfig;
  const libraries = (withDefaults as RawConfig).libraries.map((lib, i) => {
    const policy = effectivePolicy(doc.defaults, doc.libraries[i]?.policy);
    return {
      name: lib.name ?? lib.root,
      root: stripSlash(lib.root),
      archive: lib.archive ? stripSlash(lib.archive) : null,
      keepOriginals: lib.keepOriginals === true,
      deleteOriginalsAfterDays: lib.deleteOriginalsAfterDays ?? null,
      keepMtime: lib.keepMtime === true,
      workRetentionHours: lib.workRetentionHours ?? 72,
      watch: {
        ...(lib.watch?.include ? { include: lib.watch.include } : {}),
        ...(lib.watch?.exclude ? { exclude: lib.watch.exclude } : {}),
        ...(lib.watch?.extensions ? { extensions: lib.watch.extensions } : {}),
        usePolling: lib.watch?.polling === true,
        rescanIntervalMs: (lib.watch?.rescanMinutes ?? 15) * 60_000,
      },
      order: lib.order ?? null,
      priority: lib.priority ?? 0,
      parallelism: lib.parallelism ?? null,
      policy,
      policyVersion: policyVersion(policy),
    };
  });
  checkLibraries(src, libraries);
  const integrations = resolveIntegrations(
    (withDefaults as RawConfig).integrations,
    (pointer, message) => invalidAt(src, pointer, message),
  );
  return {
    file: src.file,
    defaults: effectivePolicy(doc.defaults, undefined),
    libraries,
    integrations,
  };
}

/**
 * A short fingerprint of an effective policy: sha256 of its canonical JSON (keys sorted, lists
 * as given), so the same rules give the same version whatever the key order or file layout.
 */
export function policyVersion(policy: QualityPolicy): string {
  return createHash('sha256')
    .update(canonicalJson(policy) ?? '')
    .digest('hex')
    .slice(0, 12);
}

interface RawConfig {
  defaults?: unknown;
  libraries: {
    name?: string;
    root: string;
    archive?: string;
    keepOriginals?: boolean;
    deleteOriginalsAfterDays?: number;
    keepMtime?: boolean;
    workRetentionHours?: number;
    watch?: {
      include?: string[];
      exclude?: string[];
      extensions?: string[];
      polling?: boolean;
      rescanMinutes?: number;
    };
    policy?: unknown;
    order?: QueueOrder;
    priority?: number;
    parallelism?: number;
  }[];
  integrations?: RawIntegrations;
}

function effectivePolicy(defaults: unknown, override: unknown): QualityPolicy {
  const merged = deepMerge(structuredClone(defaults ?? {}), structuredClone(override ?? {}));
  const { policyDefaults } = validators();
  if (!policyDefaults(merged)) {
    // Both halves validated on their own, so this is a bug, not a user error.
    throw new Error(`merged policy is invalid: ${JSON.stringify(policyDefaults.errors)}`);
  }
  return merged as QualityPolicy;
}

/** Objects merge key by key; lists and scalars of the override replace the default. */
function deepMerge(base: unknown, over: unknown): unknown {
  if (isPlainObject(base) && isPlainObject(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = k in base ? deepMerge(base[k], v) : v;
    return out;
  }
  return over === undefined ? base : over;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkLibraries(src: YamlSource, libraries: LibraryConfig[]): void {
  libraries.forEach((lib, i) => {
    const at = (key: string) => `/libraries/${i}/${key}`;
    libraries.slice(0, i).forEach((other) => {
      if (overlaps(lib.root, other.root)) {
        throw invalidAt(src, at('root'), `library ${lib.root} overlaps library ${other.root}`);
      }
    });
    if (lib.archive && overlaps(lib.archive, lib.root)) {
      throw invalidAt(
        src,
        at('archive'),
        `archive ${lib.archive} overlaps library ${lib.root}: archived originals would be watched again; expected a folder outside it`,
      );
    }
  });
}

function overlaps(a: string, b: string): boolean {
  return a === b || a.startsWith(b + '/') || b.startsWith(a + '/');
}

function stripSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

function invalidAt(src: YamlSource, pointer: string, message: string): ConfigError {
  const line = src.lineOf(pointer);
  return new ConfigError(
    'CONFIG_INVALID',
    `${src.file}${line ? `:${line}` : ''}: ${keyOf(pointer)}: ${message}`,
    { file: src.file, line },
  );
}

function configInvalid(src: YamlSource, errors: ErrorObject[]): ConfigError {
  const problems = relevantErrors(errors)
    .map((e) => describe(src, e))
    .sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  const first = problems[0]!;
  const message =
    problems.length === 1
      ? first.text
      : `${problems.length} problems:\n  ${problems.map((p) => p.text).join('\n  ')}`;
  return new ConfigError('CONFIG_INVALID', message, { file: src.file, line: first.line });
}

// An `if` failure, or a key-name pattern failure, repeats what a more specific error already said.
function relevantErrors(errors: ErrorObject[]): ErrorObject[] {
  const useful = errors.filter(
    (e) => e.keyword !== 'if' && (e as { propertyName?: string }).propertyName === undefined,
  );
  return useful.length ? useful : errors;
}

function describe(src: YamlSource, e: ErrorObject): { text: string; line: number | null } {
  let pointer = e.instancePath;
  let what: string;
  switch (e.keyword) {
    case 'additionalProperties':
      pointer = `${pointer}/${String(e.params.additionalProperty)}`;
      what = `unknown key; expected one of ${allowedKeys(e)}`;
      break;
    case 'required':
      pointer = `${pointer}/${String(e.params.missingProperty)}`;
      what = `missing; expected ${describedKey(e, String(e.params.missingProperty))}`;
      break;
    case 'enum':
      what = `expected one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(valueAt(src.value, pointer))}`;
      break;
    case 'const':
      what = `expected ${JSON.stringify(e.params.allowedValue)}, got ${JSON.stringify(valueAt(src.value, pointer))}`;
      break;
    case 'propertyNames':
      pointer = `${pointer}/${String(e.params.propertyName)}`;
      what = 'expected a height in pixels such as "1080"';
      break;
    default:
      what = `${e.message ?? 'invalid'}, got ${JSON.stringify(valueAt(src.value, pointer))}`;
  }
  const line = src.lineOf(pointer);
  return { text: `${src.file}${line ? `:${line}` : ''}: ${keyOf(pointer)}: ${what}`, line };
}

function describedKey(e: ErrorObject, key: string): string {
  const props = (e.parentSchema as { properties?: Record<string, { description?: string }> })
    ?.properties;
  return props?.[key]?.description ?? `the key "${key}"`;
}

function allowedKeys(e: ErrorObject): string {
  const props = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)
    ?.properties;
  return props ? Object.keys(props).join(', ') : 'no other keys';
}

/** `/libraries/0/policy/video/codec` → `libraries[0].policy.video.codec`. */
function keyOf(pointer: string): string {
  if (!pointer) return '(top level)';
  return pointer
    .split('/')
    .slice(1)
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, k) => (/^\d+$/.test(k) ? `${acc}[${k}]` : acc ? `${acc}.${k}` : k), '');
}

function valueAt(doc: unknown, pointer: string): unknown {
  let node = doc;
  for (const k of pointer.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[k.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}
