import { lastEventOf, TransientError, type ServiceContext } from '@conform/bus';
import type { EventEnvelope } from '@conform/contracts';

/** Whether this very plan already ended in encode.completed or a permanent encode.failed. */
export async function finishedBefore(
  ctx: ServiceContext,
  planned: EventEnvelope<'file.planned'>,
): Promise<boolean> {
  try {
    const [completed, failed] = await Promise.all([
      lastEventOf(ctx.bus, 'encode.completed', planned.fileId),
      lastEventOf(ctx.bus, 'encode.failed', planned.fileId),
    ]);
    return (
      completed?.event.causationId === planned.id ||
      (failed?.event.causationId === planned.id && failed.event.data.permanent)
    );
  } catch (err) {
    throw new TransientError(`cannot read the encode history of ${planned.fileId}`, { cause: err });
  }
}

/** A file's last `file.planned` in the event log (a retry request re-encodes it). */
export async function lastPlanned(
  ctx: ServiceContext,
  fileId: string,
): Promise<EventEnvelope<'file.planned'> | null> {
  try {
    return (await lastEventOf(ctx.bus, 'file.planned', fileId))?.event ?? null;
  } catch (err) {
    throw new TransientError(`cannot read the last plan of ${fileId}`, { cause: err });
  }
}
