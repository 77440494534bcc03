import { stat } from 'node:fs/promises';
import { durableRename, type HandlerContext } from '@conform/bus';
import type { EventEnvelope } from '@conform/contracts';
import type { EncodeAction } from './decide.js';
import { OutputCommitError } from './errors.js';
import { completedEvent, type EncodeMeasured } from './outcome.js';

/** Commits a complete output under its real name, durably (see {@link durableRename}). */
export async function commitOutput(partialPath: string, outputPath: string): Promise<void> {
  try {
    await durableRename(partialPath, outputPath);
  } catch (err) {
    throw new OutputCommitError(outputPath, { cause: err });
  }
}

export async function emitCompleted(
  planned: EventEnvelope<'file.planned'>,
  action: Pick<Extract<EncodeAction, { kind: 'encode' }>, 'outputPath' | 'target'>,
  encoder: string,
  measured: EncodeMeasured,
  hctx: HandlerContext,
  written: { pixFmt?: string; pixFmtReason?: string } = {},
): Promise<void> {
  const outputSize = (await stat(action.outputPath)).size;
  await hctx.emit(completedEvent(planned, action, encoder, measured, outputSize, written));
}
