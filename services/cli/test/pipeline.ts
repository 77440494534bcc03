import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { EncodeCompletedData, VerificationCheck } from '@conform/contracts';
import {
  DEFAULT_POLICY,
  planFile,
  withIdetSample,
  type FilePlan,
  type Policy,
} from '@conform/planner';
import {
  buildEncodeArgs,
  encodeSettingsFor,
  ENCODE_PROFILES,
  extractCoverArt,
} from '@conform/encoder';
import { probeVideoColour, readFfprobe, runFfmpeg, tryProbeMedia } from '@conform/media';
import { verifyEncode } from '@conform/verifier';

// One file through the real planner, encoder and verifier logic and the real ffmpeg, without
// the bus: what each real-media case asserts on. The end-to-end test runs the same files
// through the services.

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** The default policy made to act on tiny clips (no minimum size, no saving demanded). */
export function testPolicy(over: DeepPartial<Policy> = {}): Policy {
  const base: Policy = {
    ...structuredClone(DEFAULT_POLICY),
    minimum: { sizeMB: 0, durationSec: 0 },
    guardrails: { minSavingPercent: 0, maxOutputRatio: 10, minFreeDiskGB: 0 },
  };
  return merge(base, over) as Policy;
}

function merge(base: unknown, over: unknown): unknown {
  if (
    over &&
    typeof over === 'object' &&
    !Array.isArray(over) &&
    base &&
    typeof base === 'object'
  ) {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over)) out[k] = merge(out[k], v);
    return out;
  }
  return over === undefined ? base : over;
}

/** ffprobe's view of one output stream, as the assertions read it. */
export interface OutStream {
  index: number;
  codec_type: string;
  codec_name?: string;
  pix_fmt?: string;
  width?: number;
  height?: number;
  field_order?: string;
  disposition?: Record<string, number>;
  tags?: Record<string, string>;
}

export interface PipelineResult {
  plan: FilePlan;
  /** Null when the plan does not encode. */
  outputPath: string | null;
  checks: VerificationCheck[];
  streams: OutStream[];
  chapters: number;
}

/** Plans `path` under `policy`; if the plan encodes, encodes with libx265 and verifies. */
export async function runPipeline(
  library: string,
  path: string,
  policy: Policy,
  workDir: string,
): Promise<PipelineResult> {
  const s = await stat(path);
  // The planner service's own read step: probe, plus an idet sample where field order is unknown.
  const probe = await withIdetSample(await tryProbeMedia(path), path, policy);
  if (!probe.ok) throw new Error(`${path} does not probe: ${probe.reason}`);
  const plan = planFile(
    { library, path, size: s.size, media: probe.media, freeBytes: null },
    policy,
  );
  if ((plan.decision !== 'encode' && plan.decision !== 'remux') || !plan.target) {
    return { plan, outputPath: null, checks: [], streams: [], chapters: 0 };
  }
  await mkdir(workDir, { recursive: true });
  const outputPath = join(workDir, `out.${plan.target.container}`);
  const settings = encodeSettingsFor(
    plan.target,
    ENCODE_PROFILES.libx265,
    await probeVideoColour(path),
  );
  const covers = await extractCoverArt(path, plan.target, `${outputPath}.partial`);
  try {
    await runFfmpeg(
      buildEncodeArgs({
        inputPath: path,
        outputPath,
        ...settings,
        attachFiles: covers.files,
      }).map((a) =>
        // The fast preset's quality is not what these cases are about; ultrafast keeps them quick.
        a === 'fast' ? 'ultrafast' : a,
      ),
    );
  } finally {
    await covers.cleanup();
  }
  const completed: EncodeCompletedData = {
    library,
    path,
    source: { size: s.size, mtimeMs: s.mtimeMs },
    target: plan.target,
    encoder: 'libx265',
    outputPath,
    outputSize: (await stat(outputPath)).size,
    elapsedMs: 0,
    limits: { maxSizeRatio: Math.max(policy.guardrails.maxOutputRatio, 1.05) },
  };
  const checks = await verifyEncode(completed);
  const json = await readFfprobe<{ streams: OutStream[]; chapters?: unknown[] }>(outputPath);
  return {
    plan,
    outputPath,
    checks,
    streams: json.streams,
    chapters: json.chapters?.length ?? 0,
  };
}

/** The names of the checks that failed, with what they measured: `[]` when all passed. */
export function failures(checks: VerificationCheck[]): string[] {
  return checks
    .filter((c) => !c.passed)
    .map((c) => `${c.name}: ${String(c.measured)} (limit ${String(c.limit)})`);
}

/** md5 of the video packets: equal when the video was copied, not re-encoded. */
export async function videoPacketsMd5(path: string, scratch: string): Promise<string> {
  const out = join(scratch, `md5-${Math.random().toString(36).slice(2)}.txt`);
  await runFfmpeg([
    '-nostdin',
    '-y',
    '-v',
    'error',
    '-i',
    path,
    '-map',
    '0:v:0',
    '-c',
    'copy',
    '-f',
    'md5',
    out,
  ]);
  return (await readFile(out, 'utf8')).trim();
}
