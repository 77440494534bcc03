import {
  consumerSpec,
  startSubscriptions,
  type EventHandler,
  type RunningService,
  type ServiceContext,
} from '@conform/bus';
import { tryProbeMedia } from '@conform/media';
import { verificationEvent } from './verify.js';

/** Options of {@link startVerifier}. */
export interface VerifierOptions {
  /** Outputs verified at once by this process; defaults to 2. */
  slots?: number;
}

/**
 * Starts the verifier: for each `encode.completed`, probes source and output and publishes
 * `verify.passed` or `verify.failed` with every check's measured value and limit.
 */
export async function startVerifier(
  ctx: ServiceContext,
  opts: VerifierOptions = {},
): Promise<RunningService> {
  return startSubscriptions('verifier', ctx, [
    {
      consumer: consumerSpec('verifier', 'encode.completed'),
      slots: opts.slots ?? 2,
      handle: verifierHandler(),
    },
  ]);
}

/** The verifier's message handler: probe both files → pure verdict → publish. */
export function verifierHandler(): EventHandler {
  return async (event, hctx) => {
    if (event.type !== 'encode.completed') return;
    const { path, outputPath } = event.data;
    const [sourceProbe, outputProbe] = await Promise.all([
      tryProbeMedia(path, { signal: hctx.signal }),
      tryProbeMedia(outputPath, { signal: hctx.signal }),
    ]);
    const verdict = verificationEvent(event.data, sourceProbe, outputProbe);
    if (verdict.type === 'verify.failed') {
      const failed = verdict.data.checks.filter((c) => !c.passed);
      hctx.log.warn({ path, outputPath, failed }, 'output failed verification');
    }
    await hctx.emit(verdict);
  };
}
