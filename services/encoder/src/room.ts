import { mkdir } from 'node:fs/promises';
import { explainMkdirFailure, type HandlerContext } from '@conform/bus';
import { checkFreeSpace, type EventEnvelope, type FreeSpaceNeed } from '@conform/contracts';
import { freeBytesOf, type PauseController } from './pause-controller.js';

/**
 * Holds a plan until its library's filesystem has the room the shared rule says. While there
 * is none the file is back in the queue with `encode.requeued` saying why (in real units), the
 * node records a low-disk pause, and this handler keeps the plan (in-progress acks, no delivery
 * spent) while the controller polls free space; it returns once there is room. Throws when the
 * worker stops meanwhile, which hands the plan straight back to the queue.
 */
export async function waitForRoom(
  pause: PauseController,
  planned: EventEnvelope<'file.planned'>,
  need: FreeSpaceNeed,
  hctx: HandlerContext,
  run: number,
): Promise<void> {
  const { library, path } = planned.data;
  const free = await freeBytesOf(library);
  const room = free === null ? { ok: true as const } : checkFreeSpace(free, need, library);
  if (room.ok) return;
  hctx.log.warn({ path, reason: room.reason }, 'waiting for disk space');
  await hctx.emit(
    {
      type: 'encode.requeued',
      data: {
        library,
        path,
        reason: 'low-disk',
        detail: room.reason,
        attempt: hctx.attempt,
        abandoned: run > 1,
      },
    },
    { discriminator: `low-disk-${hctx.attempt}-${run}` },
  );
  await pause.waitForSpace(library, need.bytes, hctx.signal);
  if (hctx.signal.aborted) throw new Error(`stopped while waiting for room for ${path}`);
}

/** mkdir -p, failing with the real cause (EROFS, not node's ENOENT) so it is classified right. */
export async function makeWorkDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw await explainMkdirFailure(dir, err);
  }
}
