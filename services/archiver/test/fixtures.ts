import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileIdFor, wrap, type EncodeTarget, type EventEnvelope } from '@conform/contracts';
import {
  EventPublisher,
  silentLogger,
  startTestBus,
  type MessageOutcome,
  type RunningService,
  type TestBus,
} from '@conform/bus';
import { finalPathFor, startArchiver, type ArchiverLibrary } from '../src/index.js';

/** Stand-ins for media: the archiver only moves bytes, so any bytes do. */
export const ORIGINAL = Buffer.from('original video bytes\n'.repeat(2_000));
export const OUTPUT = Buffer.from('encoded\n'.repeat(300));

export interface SwapFixture {
  event: EventEnvelope<'verify.passed'>;
  library: string;
  path: string;
  outputPath: string;
  archivePath: string;
  finalPath: string;
}

/** Writes an original and its verified output into a library and builds the verify.passed. */
export async function makeSwap(opts: {
  library: string;
  archive: string;
  relativePath: string;
  container?: EncodeTarget['container'];
}): Promise<SwapFixture> {
  const container = opts.container ?? 'mkv';
  const path = join(opts.library, opts.relativePath);
  const fileId = fileIdFor(opts.library, opts.relativePath);
  const outputPath = join(opts.library, '.conform-work', `${fileId}.${container}`);
  await mkdir(dirname(path), { recursive: true });
  await mkdir(dirname(outputPath), { recursive: true });
  await writeFile(path, ORIGINAL);
  await writeFile(outputPath, OUTPUT);
  const s = await stat(path);
  const event = wrap(
    {
      type: 'verify.passed',
      data: {
        library: opts.library,
        path,
        source: { size: s.size, mtimeMs: s.mtimeMs },
        target: { videoCodec: 'hevc', container },
        outputPath,
        checks: [{ name: 'duration', passed: true, measured: 2, limit: '2±0.5' }],
      },
    },
    { fileId, producer: 'verifier@test', time: new Date() },
  );
  return {
    event,
    library: opts.library,
    path,
    outputPath,
    archivePath: join(opts.archive, opts.relativePath),
    finalPath: finalPathFor(path, container),
  };
}

/** The bytes at `path`, or null when nothing is there. */
export async function bytesAt(path: string): Promise<Buffer | null> {
  return readFile(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
}

/** A test bus with the archiver service running on it over `libraries`. */
export interface ArchiverUnderTest {
  t: TestBus;
  publisher: EventPublisher;
  archiver: RunningService;
  /** Stops the archiver, then the bus. */
  stop(): Promise<void>;
}

/**
 * Starts a test bus (named `name`) and the archiver on it, as the service tests share: a
 * 64 MiB event log, a silent logger, and each handled message's outcome to `onOutcome`.
 */
export async function startArchiverUnderTest(
  name: string,
  libraries: ArchiverLibrary[],
  onOutcome?: (outcome: MessageOutcome) => void,
): Promise<ArchiverUnderTest> {
  const t = await startTestBus(name);
  const publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
  const archiver = await startArchiver(
    {
      bus: t.bus,
      publisher,
      log: silentLogger(),
      eventLog: { maxBytes: 64 * 1024 ** 2 },
      ...(onOutcome
        ? { onOutcome: (_service: string, outcome: MessageOutcome) => onOutcome(outcome) }
        : {}),
    },
    { libraries },
  );
  return {
    t,
    publisher,
    archiver,
    stop: async () => {
      await archiver.stop();
      await t.cleanup();
    },
  };
}
