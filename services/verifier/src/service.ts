import { WORK_DIR_NAME } from '@conform/contracts';
import {
  consumerSpec,
  startSubscriptions,
  type EventHandler,
  type RunningService,
  type ServiceContext,
} from '@conform/bus';
import { rm, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type {
  EncodeCompletedData,
  VerificationCheck,
  VerificationDecode,
} from '@conform/contracts';
import { chooseDecodeDevice } from './decode.js';
import { probeFacts } from './facts.js';
import { measureOutput } from './measure.js';
import { startVerifierTools } from './tool.js';
import { outputWindows, plannedOutputWindows, windowsCover } from './output-windows.js';
import { listsKeyframes, sourceKeyframes } from './sampling.js';
import { listVideoPackets, packetsFromKeyframe } from './frames.js';
import type { SsimSample } from './passes.js';
import {
  allPassed,
  effectiveLimits,
  probeChecks,
  unreadableOutputCheck,
  unreadableSourceCheck,
  verificationEvent,
} from './decide.js';

/** Options of {@link startVerifier}. */
export interface VerifierOptions {
  /** Outputs verified at once by this process; defaults to 1 (a decode pass is CPU-heavy). */
  slots?: number;
}

/**
 * Starts the verifier: for each `encode.completed`, checks the output against its source and
 * publishes `verify.passed` or `verify.failed` with every check's measured value and limit.
 */
export async function startVerifier(
  ctx: ServiceContext,
  opts: VerifierOptions = {},
): Promise<RunningService> {
  startVerifierTools();
  return startSubscriptions('verifier', ctx, [
    {
      // A full decode of a long film takes minutes; the worker's in-progress acks cover it.
      consumer: consumerSpec('verifier', 'encode.completed'),
      slots: opts.slots ?? 1,
      handle: verifierHandler(),
    },
  ]);
}

/** Every check of one output, with how it was decoded and what SSIM sampled (for the event). */
export interface VerificationOutcome {
  checks: VerificationCheck[];
  /** Absent when the probe checks failed and no decode pass ran. */
  decode?: VerificationDecode;
  ssimSegments?: SsimSample[];
}

/**
 * Runs every check of one output: probe both files, the probe checks, then (only when those
 * pass, since they are expensive) a full decode — on the encode's device when a trial decode
 * there works — with the frame count against the source's packets, and SSIM on a few sampled
 * segments: in software within the same ffmpeg run, which decodes the output once for both
 * ({@link measureOutput}).
 */
export async function verifyOutput(
  completed: EncodeCompletedData,
  opts: {
    signal?: AbortSignal;
    /** How many ranges a software decode pass may be split into (default: one per core). */
    decodeRanges?: number;
  } = {},
): Promise<VerificationOutcome> {
  const { path, outputPath } = completed;
  const changed = await sourceChangedCheck(completed);
  if (changed) return { checks: [changed] };
  // What needs only the source starts with the verification rather than after the probe
  // checks: the listing of its video packets (the frame count's, a demux) and, once its facts
  // are in, its keyframes (from that listing when it is short, else a probe of a few packets).
  // When the probe checks fail they were for nothing (a demux of the source), and they are
  // stopped and waited for, so no process outlives the verification.
  const ahead = new AbortController();
  const stop = () => ahead.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', stop, { once: true });
  // A source that is short by the plan's duration has its packets listed by its facts probe, in
  // the same run: one ffprobe fewer at the start, where three would share the cores.
  const listedByProbe = listsByPlan(completed);
  const sourceProbe = probeFacts(path, { ...opts, listPackets: listedByProbe });
  const listing = listedByProbe
    ? sourceProbe.then((s) => (s.ok ? (s.packets ?? null) : null))
    : listVideoPackets(path, { signal: ahead.signal });
  const sourceKeys = sourceProbe.then((s) =>
    s.ok ? sourceKeyframes(path, s.facts, { signal: ahead.signal, listing }) : [],
  );
  const packets = listing.then((l) => l && packetsFromKeyframe(l));
  // The output's probe also reads the packets where its decode pass could be split, placed by
  // the source's duration (which the output's matches within the duration check's tolerance)
  // rather than in an ffprobe of its own. With the plan's duration in the event it starts at
  // once, beside the source's probe (the same file: the stamp check above), and is used when
  // its windows cover those the source's facts call for; else the output is probed again.
  const planned = plannedOutputWindows(completed, opts);
  const early = planned && probeFacts(outputPath, { signal: ahead.signal, windows: planned });
  const outputProbe = sourceProbe.then((s) => {
    if (!s.ok) return null;
    const windows = outputWindows(completed, s.facts, opts);
    if (early && windowsCover(planned, windows)) return early;
    return probeFacts(outputPath, { ...opts, windows });
  });
  const settled = Promise.allSettled([sourceKeys, packets, early]);
  try {
    const [source, output] = await Promise.all([sourceProbe, outputProbe]);
    if (!source.ok) return { checks: [unreadableSourceCheck(source.reason)] };
    if (!output?.ok) return { checks: [unreadableOutputCheck(output?.reason ?? 'not probed')] };
    const limits = effectiveLimits(completed.limits);
    const checks = probeChecks(
      source.facts,
      output.facts,
      completed.source.size,
      completed.target,
      limits,
      completed.pixFmt,
    );
    if (!allPassed(checks)) return { checks };
    const choice = await chooseDecodeDevice(
      completed.encoder,
      output.facts.video,
      outputPath,
      opts,
    );
    const measured = await measureOutput(
      completed,
      source.facts,
      output.facts,
      choice,
      limits.ssimFloor,
      {
        ...opts,
        sourceKeys,
        packets,
        ...(output.keyframes ? { outputKeys: output.keyframes } : {}),
      },
    );
    return {
      checks: [...checks, ...measured.checks],
      decode: measured.decode,
      ...(measured.ssimSegments ? { ssimSegments: measured.ssimSegments } : {}),
    };
  } finally {
    opts.signal?.removeEventListener('abort', stop);
    // Used by now, or not needed: stopped if they still run.
    ahead.abort();
    await settled;
  }
}

/**
 * Whether the source's facts probe also lists its packets: a source short by the plan's
 * duration (the rule of {@link listsKeyframes}), whose demux ends about with the probe. A longer
 * one is listed by a process of its own, which the decode does not wait for. Pure.
 */
export function listsByPlan(completed: Pick<EncodeCompletedData, 'durationSec'>): boolean {
  const { durationSec } = completed;
  return durationSec !== undefined && listsKeyframes({ durationSec });
}

/** {@link verifyOutput}'s checks alone. */
export async function verifyEncode(
  completed: EncodeCompletedData,
  opts: { signal?: AbortSignal } = {},
): Promise<VerificationCheck[]> {
  return (await verifyOutput(completed, opts)).checks;
}

/** Name of the check that fails when the source is no longer the file that was encoded. */
export const SOURCE_UNCHANGED = 'source-unchanged';

/**
 * The failed `source-unchanged` check when the source's size or mtime differ from the planned
 * stamp (invariant 2: such an output is stale whatever it measures), else null. A missing
 * source is left to `source-probes`.
 */
export async function sourceChangedCheck(
  completed: EncodeCompletedData,
): Promise<VerificationCheck | null> {
  const now = await stat(completed.path).catch(() => null);
  const was = completed.source;
  if (!now || (now.size === was.size && now.mtimeMs === was.mtimeMs)) return null;
  return {
    name: SOURCE_UNCHANGED,
    passed: false,
    measured: `size ${now.size}, mtime ${now.mtimeMs}`,
    limit: `size ${was.size}, mtime ${was.mtimeMs}`,
  };
}

/**
 * Deletes a stale output, which nothing can ever use, so it does not sit in the work directory
 * for good; only inside `<library>/.conform-work/` (invariant 6).
 */
async function discardStaleOutput(completed: EncodeCompletedData): Promise<boolean> {
  const workDir = join(resolve(completed.library), WORK_DIR_NAME);
  const rel = relative(workDir, resolve(completed.outputPath));
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return false;
  await rm(resolve(completed.outputPath), { force: true });
  return true;
}

/** The verifier's message handler: all checks → verdict event. */
export function verifierHandler(): EventHandler {
  return async (event, hctx) => {
    if (event.type !== 'encode.completed') return;
    const outcome = await verifyOutput(event.data, { signal: hctx.signal });
    const { checks } = outcome;
    const verdict = verificationEvent(event.data, checks, outcome);
    if (checks[0]?.name === SOURCE_UNCHANGED && (await discardStaleOutput(event.data))) {
      hctx.log.info(
        { path: event.data.path, outputPath: event.data.outputPath },
        'source changed since it was planned; stale output discarded',
      );
    }
    if (verdict.type === 'verify.failed') {
      hctx.log.warn(
        {
          path: event.data.path,
          outputPath: event.data.outputPath,
          failed: checks.filter((c) => !c.passed),
        },
        'output failed verification',
      );
    }
    await hctx.emit(verdict);
  };
}
