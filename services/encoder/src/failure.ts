import { TransientError, type HandlerContext } from '@conform/bus';
import { assertNever, type EventEnvelope } from '@conform/contracts';
import { tryProbeMedia } from '@conform/media';
import { decideEncodeFailure, type EncodeFailureFacts } from './outcome.js';

/** Carries out what {@link decideEncodeFailure} says about a failed run. */
export async function handleFailure(
  planned: EventEnvelope<'file.planned'>,
  hctx: HandlerContext,
  log: HandlerContext['log'],
  err: unknown,
  facts: EncodeFailureFacts,
): Promise<'done' | 'out-of-space'> {
  let outcome = decideEncodeFailure(planned, facts);
  if (outcome.kind === 'probe-source') {
    const sourceProbe = await tryProbeMedia(planned.data.path);
    outcome = decideEncodeFailure(planned, { ...facts, sourceProbe });
  }
  switch (outcome.kind) {
    case 'stopped':
      log.info('stopped mid-encode; removed the partial output');
      throw err;
    case 'failed':
      if (outcome.warn) log.warn({ reason: outcome.event.data.reason }, outcome.warn);
      await hctx.emit(outcome.event);
      return 'done';
    case 'out-of-space':
      log.warn('the work folder ran out of space mid-encode; removed the partial output');
      return 'out-of-space';
    case 'requeued':
      log.info('paused with --now; returned the plan to the queue');
      await hctx.emit(outcome.event, { discriminator: outcome.discriminator });
      throw new TransientError(outcome.message, { cause: err, delayMs: outcome.delayMs });
    case 'retry':
      if (outcome.warn) log.warn(outcome.warn);
      throw new TransientError(outcome.message, { cause: err, delayMs: outcome.delayMs });
    case 'probe-source':
      throw err; // answered above: the second decision had the probe
    default:
      return assertNever(outcome, 'encode outcome');
  }
}
