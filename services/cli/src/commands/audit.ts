import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Bus } from '@conform/bus';
import { isValidFileId, subjectFilterForType, type EventEnvelope } from '@conform/contracts';
import {
  openReadModels,
  readEventLog,
  readFileHistory,
  type StoredMessage,
} from '@conform/projections';
import { CliError, UsageError } from '../errors.js';
import { natsOption, stateDirOption } from '../options.js';
import { withEventLog, type LogReaderFlags } from './replay.js';

/** One line per event: time, sequence, type, producer, policy version, then its details. */
export function formatHistory(messages: StoredMessage[]): string {
  const lines: string[] = [];
  for (const m of messages) {
    const e = m.event;
    if (!e) {
      lines.push(`#${m.sequence} ${m.subject}: not a valid event (${m.error ?? 'unknown'})`);
      continue;
    }
    const data = e.data as { policyVersion?: string };
    lines.push(
      `${e.time}  #${m.sequence}  ${e.type}  by ${e.producer}` +
        (data.policyVersion ? `  policy ${data.policyVersion}` : ''),
    );
    for (const detail of details(e)) lines.push(`    ${detail}`);
  }
  return lines.join('\n');
}

function details(e: EventEnvelope): string[] {
  switch (e.type) {
    case 'file.planned':
      return [`decision ${e.data.decision}: ${e.data.reasons.join('; ') || '-'}`];
    case 'verify.passed':
    case 'verify.failed':
      return e.data.checks.map(
        (c) =>
          `${c.passed ? 'pass' : 'FAIL'} ${c.name}: measured ${String(c.measured)}, limit ${String(c.limit)}`,
      );
    case 'file.replaced':
      return [`archived to ${e.data.archivePath}; saved ${e.data.bytesSaved} bytes`];
    case 'encode.failed':
    case 'replace.failed':
    case 'file.unreadable':
    case 'restore.failed':
    case 'message.deadlettered':
      return [`reason: ${e.data.reason}`];
    default:
      return [];
  }
}

/** Registers `conform audit PATH`. */
export function register(program: Command): void {
  program
    .command('audit <pathOrId>')
    .description("print a file's whole history straight from the event log")
    .addOption(natsOption('NATS server URL; default: the embedded store'))
    .addOption(stateDirOption('where the read models live'))
    .option(
      '--json',
      'print { path, fileId, events: [{ sequence, subject, headers, event, error }] }',
    )
    .action(async (pathOrId: string, flags: LogReaderFlags & { json?: boolean }) => {
      await withEventLog(flags, async (bus, stateDir) => {
        const fileId = await resolveFileId(pathOrId, stateDir, bus);
        const history = await readFileHistory(bus, fileId);
        if (history.length === 0) {
          throw new CliError(
            'NO_HISTORY',
            `the event log has no events for ${pathOrId} (${fileId})`,
          );
        }
        if (flags.json) {
          const out = { path: pathOrId, fileId, events: history };
          process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
          return;
        }
        process.stdout.write(
          `${pathOrId} (file id ${fileId}), subject conform.evt.*.*.${fileId}\n`,
        );
        process.stdout.write(`${formatHistory(history)}\n`);
      });
    });
}

/**
 * The file id of `pathOrId`: from the local read models when they know the path, else from the
 * event log itself (the reader may be pointed at a remote NATS with `--nats` and have no read
 * models here), else `pathOrId` taken as a file id.
 */
async function resolveFileId(pathOrId: string, stateDir: string, bus: Bus): Promise<string> {
  const path = resolve(pathOrId);
  const modelsFile = join(stateDir, 'read-models.sqlite');
  // Opening creates the file; a reader must not leave an empty database behind.
  if (existsSync(modelsFile)) {
    const readModels = openReadModels(modelsFile);
    try {
      const row = await readModels.db
        .selectFrom('files')
        .select('file_id')
        .where((eb) => eb.or([eb('path', '=', path), eb('archive_path', '=', path)]))
        .executeTakeFirst();
      if (row) return row.file_id;
    } finally {
      await readModels.close();
    }
  }
  const fromLog = await fileIdFromLog(bus, path);
  if (fromLog) return fromLog;
  if (isValidFileId(pathOrId)) return pathOrId;
  throw new UsageError(
    `${pathOrId} is not a file conform knows (neither the read models nor the event log have that path); give its file id instead`,
  );
}

/** The id the event log last gave `path`: as discovered, or as the archive of a replacement. */
async function fileIdFromLog(bus: Bus, path: string): Promise<string | null> {
  const found: { sequence: number; fileId: string | null } = { sequence: 0, fileId: null };
  const remember = (messages: StoredMessage[], matches: (e: EventEnvelope) => boolean) => {
    for (const m of messages) {
      if (m.event && matches(m.event) && m.sequence > found.sequence) {
        found.sequence = m.sequence;
        found.fileId = m.event.fileId;
      }
    }
  };
  await readEventLog(
    bus,
    (batch) => remember(batch, (e) => e.type === 'file.discovered' && e.data.path === path),
    { filterSubject: subjectFilterForType('file.discovered') },
  );
  await readEventLog(
    bus,
    (batch) => remember(batch, (e) => e.type === 'file.replaced' && e.data.archivePath === path),
    { filterSubject: subjectFilterForType('file.replaced') },
  );
  return found.fileId;
}
