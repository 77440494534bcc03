import type {
  DomainEvent,
  EncodeCompletedData,
  EncodeTarget,
  MediaSummary,
  VerificationCheck,
} from '@conform/contracts';
import type { ProbeOutcome } from '@conform/media';

/** Duration tolerance: the larger of half a second and 0.5 % of the source. */
export function durationToleranceSec(sourceDurationSec: number): number {
  return Math.max(0.5, sourceDurationSec * 0.005);
}

// ffprobe's format_name for each target container.
const CONTAINER_FORMATS: Record<EncodeTarget['container'], RegExp> = {
  mp4: /(^|,)mp4(,|$)/,
  mkv: /(^|,)matroska(,|$)/,
};

/**
 * Checks an encoded output against its source and target. Pure. An unreadable output (null)
 * yields only the failed `output-probes` check, since nothing else can be measured.
 */
export function verifyOutput(
  source: MediaSummary,
  output: MediaSummary | null,
  target: EncodeTarget,
  outputUnreadableReason?: string,
): VerificationCheck[] {
  if (!output) {
    return [
      {
        name: 'output-probes',
        passed: false,
        measured: outputUnreadableReason ?? 'unreadable',
        limit: 'readable media',
      },
    ];
  }
  const checks: VerificationCheck[] = [
    { name: 'output-probes', passed: true, measured: 'readable media', limit: 'readable media' },
  ];
  const codec = output.video?.codec ?? null;
  checks.push({
    name: 'video-codec',
    passed: codec === target.videoCodec,
    measured: codec,
    limit: target.videoCodec,
  });
  checks.push({
    name: 'container',
    passed: CONTAINER_FORMATS[target.container].test(output.container),
    measured: output.container,
    limit: target.container,
  });
  checks.push(durationCheck(source.durationSec, output.durationSec));
  checks.push({
    name: 'audio-streams',
    passed: output.audioStreams === source.audioStreams,
    measured: output.audioStreams,
    limit: source.audioStreams,
  });
  checks.push({
    name: 'subtitle-streams',
    passed: output.subtitleStreams === source.subtitleStreams,
    measured: output.subtitleStreams,
    limit: source.subtitleStreams,
  });
  return checks;
}

function durationCheck(source: number | null, output: number | null): VerificationCheck {
  // Without a source duration a truncated output could not be told apart, so it cannot pass.
  if (source === null) {
    return {
      name: 'duration',
      passed: false,
      measured: round(output),
      limit: 'source duration unknown',
    };
  }
  const tolerance = durationToleranceSec(source);
  return {
    name: 'duration',
    passed: output !== null && Math.abs(output - source) <= tolerance,
    measured: round(output),
    limit: `${round(source)}±${round(tolerance)}`,
  };
}

function round(n: number | null): number | null {
  return n === null ? null : Math.round(n * 1000) / 1000;
}

/**
 * The verdict event for one completed encode, from the probes of source and output. Pure.
 * A source that can no longer be read fails verification: nothing may replace it unchecked.
 */
export function verificationEvent(
  completed: EncodeCompletedData,
  sourceProbe: ProbeOutcome,
  outputProbe: ProbeOutcome,
): DomainEvent {
  const { library, path, source, target, outputPath } = completed;
  const checks: VerificationCheck[] = sourceProbe.ok
    ? verifyOutput(
        sourceProbe.media,
        outputProbe.ok ? outputProbe.media : null,
        target,
        outputProbe.ok ? undefined : outputProbe.reason,
      )
    : [
        {
          name: 'source-probes',
          passed: false,
          measured: sourceProbe.reason,
          limit: 'readable media',
        },
      ];
  const data = { library, path, source, target, outputPath, checks };
  return checks.every((c) => c.passed)
    ? { type: 'verify.passed', data }
    : { type: 'verify.failed', data };
}
