import { createHash } from 'node:crypto';
import { Ajv, type ValidateFunction } from 'ajv';
import { configure } from 'safe-stable-stringify';
import { configInvalid } from './config-errors.js';
import type { Static } from '@sinclair/typebox';
import type { LibraryConfig, QualityPolicy } from './quality.js';
import type { QualityFileSchema } from './quality-schema.js';
import { qualitySchema } from './schema.js';
import type { YamlSource } from './yaml-source.js';

// The normalise stage: the parsed document checked against the schema with its defaults filled
// in, and each library's effective policy (the global defaults with its overrides applied) and
// that policy's version. Cross-key rules come after, in rules.ts.

// Keys sorted, undefined left out, lists as given: the same rules hash the same whatever the
// key order or file layout.
const canonicalJson = configure({ deterministic: true, bigint: false });

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

/**
 * Validates a parsed YAML source against the schema (with defaults) and resolves each library:
 * its fields with their defaults, its effective policy and policy version. Also returns the
 * document with defaults filled in, for the later stages.
 */
export function normaliseConfig(src: YamlSource): {
  withDefaults: RawConfig;
  defaults: QualityPolicy;
  libraries: LibraryConfig[];
} {
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
  return {
    withDefaults: withDefaults as RawConfig,
    defaults: effectivePolicy(doc.defaults, undefined),
    libraries,
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

/** quality.yaml as written (before defaults), derived from its schema. */
export type RawConfig = Static<typeof QualityFileSchema>;

/** The effective policy: `override` merged into `defaults`, then every schema default. */
export function effectivePolicy(defaults: unknown, override: unknown): QualityPolicy {
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

function stripSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}
