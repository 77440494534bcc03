import { wrap, type EventEnvelope } from './envelope.js';
import type { EventType } from './event-types.js';
import type { DomainEvent, EventDataByType, SourceStamp, EncodeTarget } from './events.js';

// One valid example of every event type: the contract tests check each against its schema,
// and other packages' tests start from them instead of hand-writing envelopes.

const library = '/media/movies';
const path = '/media/movies/Film (2020)/Film.mp4';
const source: SourceStamp = { size: 1_000_000, mtimeMs: 1_700_000_000_000 };
const target: EncodeTarget = { videoCodec: 'hevc', container: 'mp4' };
const outputPath = '/media/movies/.conform-work/fabc.mp4';

/** Example data for every event type. */
export const sampleData: { [T in EventType]: EventDataByType[T] } = {
  'file.discovered': { library, path, relativePath: 'Film (2020)/Film.mp4', ...source },
  'file.changed': {
    library,
    path,
    relativePath: 'Film (2020)/Film.mp4',
    ...source,
    fingerprint: { dev: 2049, ino: 1234, ...source, headTailSha256: 'a'.repeat(64) },
  },
  'file.moved': {
    library,
    path,
    fromPath: '/media/movies/Film.mp4',
    relativePath: 'Film (2020)/Film.mp4',
    ...source,
  },
  'file.removed': { library, path, relativePath: 'Film (2020)/Film.mp4' },
  'file.unreadable': { library, path, source, reason: 'Invalid data found when processing input' },
  'file.probed': {
    library,
    path,
    source,
    media: {
      container: 'mov,mp4,m4a,3gp,3g2,mj2',
      durationSec: 2,
      bitRate: 400_000,
      video: { codec: 'h264', width: 320, height: 240, pixFmt: 'yuv420p', colorTransfer: null },
      audioStreams: 1,
      subtitleStreams: 0,
      streams: [{ index: 1, kind: 'audio', codec: 'aac', language: 'eng', channels: 2 }],
    },
  },
  'file.planned': {
    library,
    path,
    source,
    decision: 'encode',
    reasons: ['video codec h264 is not hevc'],
    policyVersion: 'p1234',
    target,
    durationSec: 2,
    estimatedOutputBytes: 500_000,
  },
  'encode.started': { library, path, encoder: 'libx265', outputPath, attempt: 1 },
  'encode.completed': {
    library,
    path,
    source,
    target,
    encoder: 'libx265',
    outputPath,
    outputSize: 400_000,
    elapsedMs: 1234,
  },
  'encode.failed': {
    library,
    path,
    encoder: 'libx265',
    reason: 'ffmpeg exited 1',
    permanent: false,
  },
  'encode.requeued': {
    library,
    path,
    reason: 'low-disk',
    detail: '12.0 MiB free on /media/movies, 40.0 MiB needed (estimated output 36.4 MiB + 10 %)',
    attempt: 1,
    abandoned: false,
  },
  'verify.passed': {
    library,
    path,
    source,
    target,
    outputPath,
    checks: [{ name: 'duration', passed: true, measured: 2, limit: '2±0.5' }],
    decode: { device: 'software', reason: 'software decode (encoded by libx265 on the CPU)' },
    ssimSegments: [{ startSec: 10, lengthSec: 0.5, ssim: 0.987 }],
  },
  'verify.failed': {
    library,
    path,
    source,
    target,
    outputPath,
    checks: [{ name: 'audio-streams', passed: false, measured: 0, limit: 1 }],
  },
  'file.replaced': {
    library,
    path,
    newPath: path,
    archivePath: '/archive/movies/Film (2020)/Film.mp4',
    originalSize: 1_000_000,
    newSize: 400_000,
    bytesSaved: 600_000,
  },
  'replace.failed': { library, path, reason: 'source changed since it was planned', stale: true },
  'file.kept': {
    library,
    path,
    stage: 'verify',
    outputRatio: 0.97,
    limitRatio: 0.9,
    reason:
      'the re-encode came out at 0.97 of the source, above the limit 0.9: the original is kept',
    policyVersion: 'p1234',
  },
  'file.restored': {
    library,
    path,
    replacedPath: path,
    replacementArchivePath: '/archive/movies/.conform-replacements/Film (2020)/Film.mp4',
    restoredSize: 1_000_000,
    policyVersion: 'p1234',
  },
  'restore.failed': { library, path, reason: 'no replacement of this file is recorded' },
  'original.deleted': {
    library,
    path,
    archivePath: '/archive/movies/Film (2020)/Film.mp4',
    size: 1_000_000,
    retentionDays: 30,
  },
  'encoder.paused': {
    node: 'encoder@nas',
    reason: 'manual',
    detail: 'requested by cli@nas',
    cancelRunning: false,
  },
  'encoder.resumed': { node: 'encoder@nas', reason: 'manual', detail: 'requested by cli@nas' },
  'message.deadlettered': {
    subject: 'conform.evt.file.planned.fabc',
    streamSequence: 7,
    consumer: 'encoder',
    deliveries: 5,
    reason: 'exhausted deliveries',
    payload: '{}',
  },
  'notify.sent': {
    target: 'jellyfin',
    kind: 'jellyfin',
    action: 'refresh',
    request: 'POST /Library/Media/Updated',
    paths: ['/media/movies/Film (2020)/Film.mkv'],
    batched: 1,
    status: 204,
  },
  'notify.failed': {
    target: 'plex',
    kind: 'plex',
    action: 'refresh',
    reason: 'HTTP 401 Unauthorized: the token was refused',
    status: 401,
    attempt: 1,
    final: true,
  },
  'playback.started': {
    sessions: 1,
    servers: [{ name: 'jellyfin', kind: 'jellyfin', sessions: 1 }],
    detail: '1 playback session on jellyfin',
  },
  'playback.ended': { detail: 'no playback for 5 min', graceMinutes: 5 },
  'control.requested': { action: 'pause', path: null, now: false, requestedBy: 'cli@localhost' },
};

/** A valid enveloped example of one event type. */
export function sampleEvent<T extends EventType>(type: T, fileId = 'fabc'): EventEnvelope<T> {
  return wrap({ type, data: sampleData[type] } as DomainEvent, {
    fileId,
    producer: 'test@localhost',
    time: new Date('2026-01-01T00:00:00.000Z'),
  }) as EventEnvelope<T>;
}
