import { FILE_ID_PATTERN } from './envelope.js';
import { allEventTypes, type EventType } from './event-types.js';

// JSON Schemas (draft-07, as ajv compiles by default) for the envelope and for each
// event type's data at version 1. `additionalProperties: false` on data keeps producers
// honest: a new field is a deliberate contract change, reviewed here. Readers apply the same
// schemas tolerantly (unknown keys removed, see validation.ts), so an added optional field
// is a compatible change and nodes can be upgraded one at a time.

type Schema = Record<string, unknown>;

const str = { type: 'string', minLength: 1 } as const;
const absPath = { type: 'string', minLength: 1, pattern: '^/' } as const;
const nonNegInt = { type: 'integer', minimum: 0 } as const;
const nullableNumber = { type: ['number', 'null'], minimum: 0 } as const;

const STREAM_KINDS = ['audio', 'subtitle', 'attachment', 'cover', 'data', 'video'];

const sourceStamp = {
  type: 'object',
  required: ['size', 'mtimeMs'],
  additionalProperties: false,
  properties: { size: nonNegInt, mtimeMs: { type: 'number', minimum: 0 } },
} as const;

const target = {
  type: 'object',
  required: ['videoCodec', 'container'],
  additionalProperties: false,
  properties: {
    videoCodec: { enum: ['hevc', 'av1', 'h264'] },
    container: { enum: ['mkv', 'mp4'] },
    quality: {
      type: 'object',
      required: ['nvencCq', 'cpuCrf', 'qsvQuality', 'vaapiQp'],
      additionalProperties: false,
      properties: {
        nvencCq: { type: 'integer', minimum: 0, maximum: 51 },
        cpuCrf: { type: 'integer', minimum: 0, maximum: 63 },
        qsvQuality: { type: 'integer', minimum: 1, maximum: 51 },
        vaapiQp: { type: 'integer', minimum: 0, maximum: 255 },
      },
    },
    maxHeight: { type: ['integer', 'null'], minimum: 1 },
    tenBit: { type: 'boolean' },
    keepHdr: { type: 'boolean' },
    streams: {
      type: 'array',
      items: {
        type: 'object',
        required: ['index', 'kind', 'action', 'codec', 'bitrateKbps'],
        additionalProperties: false,
        properties: {
          index: { type: 'integer', minimum: 0 },
          kind: { enum: STREAM_KINDS },
          action: { enum: ['copy', 'convert', 'drop'] },
          codec: { type: ['string', 'null'], minLength: 1 },
          bitrateKbps: { type: ['integer', 'null'], minimum: 1 },
          reason: str,
        },
      },
    },
    pixFmt: str,
    frameSize: {
      type: 'object',
      required: ['width', 'height'],
      additionalProperties: false,
      properties: {
        width: { type: 'integer', minimum: 1 },
        height: { type: 'integer', minimum: 1 },
      },
    },
    allStreams: { type: 'boolean' },
    videoCopy: { type: 'boolean' },
    keepRotation: { type: 'boolean' },
    chapters: { enum: ['keep', 'drop'] },
    deinterlace: {
      type: 'object',
      required: ['parity'],
      additionalProperties: false,
      properties: { parity: { enum: ['tff', 'bff', 'auto'] } },
    },
  },
} as const;

const limits = {
  type: 'object',
  additionalProperties: false,
  properties: {
    maxSizeRatio: { type: 'number', exclusiveMinimum: 0 },
    ssimFloor: { type: 'number', minimum: 0, maximum: 1 },
  },
} as const;

const location = { library: absPath, path: absPath } as const;

// `playback` was added after the first release: only the node that wrote a pause reads it back.
const pauseReasons = ['manual', 'schedule', 'low-disk', 'playback'];
const integrationKind = {
  enum: ['jellyfin', 'emby', 'plex', 'sonarr', 'radarr', 'webhook', 'apprise'],
};
const notifyAction = { enum: ['refresh', 'rescan', 'notification'] };
const targetName = { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,31}$' } as const;

const fingerprint = {
  type: 'object',
  required: ['dev', 'ino', 'size', 'mtimeMs', 'headTailSha256'],
  additionalProperties: false,
  properties: {
    dev: nonNegInt,
    ino: nonNegInt,
    size: nonNegInt,
    mtimeMs: { type: 'number', minimum: 0 },
    headTailSha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
  },
} as const;

const discoveredProperties = {
  relativePath: str,
  size: nonNegInt,
  mtimeMs: { type: 'number', minimum: 0 },
  fingerprint,
} as const;

function data(required: string[], properties: Record<string, unknown>): Schema {
  return {
    type: 'object',
    required: ['library', 'path', ...required],
    additionalProperties: false,
    properties: { ...location, ...properties },
  };
}

const check = {
  type: 'object',
  required: ['name', 'passed', 'measured', 'limit'],
  additionalProperties: false,
  properties: {
    name: str,
    passed: { type: 'boolean' },
    measured: { type: ['string', 'number', 'null'] },
    limit: { type: ['string', 'number', 'null'] },
  },
} as const;

const verification = data(['source', 'target', 'outputPath', 'checks'], {
  source: sourceStamp,
  target,
  outputPath: absPath,
  checks: { type: 'array', items: check },
  policyVersion: str,
  decode: {
    type: 'object',
    required: ['device', 'reason'],
    additionalProperties: false,
    properties: { device: { enum: ['software', 'cuda', 'qsv', 'vaapi'] }, reason: str },
  },
  ssimSegments: {
    type: 'array',
    items: {
      type: 'object',
      required: ['startSec', 'lengthSec', 'ssim'],
      additionalProperties: false,
      properties: {
        startSec: { type: 'number', minimum: 0 },
        lengthSec: { type: 'number', exclusiveMinimum: 0 },
        ssim: { type: 'number' },
      },
    },
  },
});

/** JSON Schema of each event type's `data`, version 1. */
export const dataSchemas: Record<EventType, Schema> = {
  'file.discovered': data(['relativePath', 'size', 'mtimeMs'], discoveredProperties),
  'file.changed': data(['relativePath', 'size', 'mtimeMs'], discoveredProperties),
  'file.moved': data(['relativePath', 'size', 'mtimeMs', 'fromPath'], {
    ...discoveredProperties,
    fromPath: absPath,
  }),
  'file.removed': data(['relativePath'], { relativePath: str }),
  'file.unreadable': data(['source', 'reason'], { source: sourceStamp, reason: str }),
  'file.probed': data(['source', 'media'], {
    source: sourceStamp,
    media: {
      type: 'object',
      required: ['container', 'durationSec', 'bitRate', 'video', 'audioStreams', 'subtitleStreams'],
      additionalProperties: false,
      properties: {
        container: { type: 'string' },
        durationSec: nullableNumber,
        bitRate: nullableNumber,
        video: {
          oneOf: [
            { type: 'null' },
            {
              type: 'object',
              required: ['codec', 'width', 'height', 'pixFmt'],
              additionalProperties: false,
              properties: {
                codec: str,
                width: nonNegInt,
                height: nonNegInt,
                pixFmt: { type: ['string', 'null'] },
                colorTransfer: { type: ['string', 'null'] },
                profile: { type: ['string', 'null'] },
                bitDepth: { type: ['integer', 'null'], minimum: 1 },
                frameRate: { type: ['number', 'null'], minimum: 0 },
                colorPrimaries: { type: ['string', 'null'] },
                colorSpace: { type: ['string', 'null'] },
                hdr: { enum: ['hdr10', 'hdr10+', 'hlg', 'dolby-vision', null] },
                sideData: { type: 'array', items: str },
                timecode: { type: ['string', 'null'] },
                fieldOrder: { type: ['string', 'null'] },
                rotation: { type: ['number', 'null'] },
                idet: {
                  oneOf: [
                    { type: 'null' },
                    {
                      type: 'object',
                      required: ['fromSec', 'frames', 'tff', 'bff', 'progressive', 'undetermined'],
                      additionalProperties: false,
                      properties: {
                        fromSec: { type: 'number', minimum: 0 },
                        frames: nonNegInt,
                        tff: nonNegInt,
                        bff: nonNegInt,
                        progressive: nonNegInt,
                        undetermined: nonNegInt,
                      },
                    },
                  ],
                },
              },
            },
          ],
        },
        audioStreams: nonNegInt,
        subtitleStreams: nonNegInt,
        chapters: nonNegInt,
        streams: {
          type: 'array',
          items: {
            type: 'object',
            required: ['index', 'kind', 'codec', 'language', 'channels'],
            additionalProperties: false,
            properties: {
              index: nonNegInt,
              kind: { enum: STREAM_KINDS },
              codec: str,
              language: { type: ['string', 'null'] },
              channels: { type: ['integer', 'null'], minimum: 0 },
              profile: { type: ['string', 'null'] },
              channelLayout: { type: ['string', 'null'] },
              default: { type: 'boolean' },
              forced: { type: 'boolean' },
              title: { type: ['string', 'null'] },
              filename: { type: ['string', 'null'] },
              mimetype: { type: ['string', 'null'] },
              codecTag: { type: ['string', 'null'] },
              bitRate: { type: ['number', 'null'], minimum: 0 },
            },
          },
        },
      },
    },
  }),
  'file.planned': data(
    [
      'source',
      'decision',
      'reasons',
      'policyVersion',
      'target',
      'durationSec',
      'estimatedOutputBytes',
    ],
    {
      source: sourceStamp,
      decision: { enum: ['encode', 'remux', 'skip', 'compliant', 'damaged'] },
      reasons: { type: 'array', items: str, minItems: 1 },
      policyVersion: str,
      target: { oneOf: [{ type: 'null' }, target] },
      durationSec: nullableNumber,
      estimatedOutputBytes: nullableNumber,
      limits,
      diskNeededBytes: nonNegInt,
      previousPolicyVersion: str,
      health: {
        type: 'object',
        required: ['mode', 'checked', 'errors', 'errorCount'],
        additionalProperties: false,
        properties: {
          mode: { enum: ['quick', 'full'] },
          checked: str,
          errors: { type: 'array', items: str, maxItems: 10 },
          errorCount: nonNegInt,
          endsEarly: str,
        },
      },
      heldBy: { enum: ['kept', 'restored'] },
    },
  ),
  'encode.started': data(['encoder', 'outputPath', 'attempt'], {
    encoder: str,
    outputPath: absPath,
    attempt: { type: 'integer', minimum: 1 },
  }),
  'encode.completed': data(
    ['source', 'target', 'encoder', 'outputPath', 'outputSize', 'elapsedMs'],
    {
      source: sourceStamp,
      target,
      encoder: str,
      outputPath: absPath,
      outputSize: nonNegInt,
      elapsedMs: { type: 'number', minimum: 0 },
      fps: { type: 'number', exclusiveMinimum: 0 },
      policyVersion: str,
      limits,
      pixFmt: str,
      pixFmtReason: str,
    },
  ),
  'encode.failed': data(['encoder', 'reason', 'permanent'], {
    encoder: str,
    reason: str,
    permanent: { type: 'boolean' },
    sizeGuard: {
      type: 'object',
      required: ['measuredRatio', 'limitRatio'],
      additionalProperties: false,
      properties: {
        measuredRatio: { type: 'number', minimum: 0 },
        limitRatio: { type: 'number', exclusiveMinimum: 0 },
      },
    },
    policyVersion: str,
  }),
  'encode.requeued': data(['reason', 'detail', 'attempt', 'abandoned'], {
    reason: { enum: pauseReasons },
    detail: str,
    attempt: { type: 'integer', minimum: 1 },
    abandoned: { type: 'boolean' },
  }),
  'verify.passed': verification,
  'verify.failed': verification,
  'file.replaced': data(['newPath', 'archivePath', 'originalSize', 'newSize', 'bytesSaved'], {
    newPath: absPath,
    archivePath: absPath,
    originalSize: nonNegInt,
    newSize: nonNegInt,
    bytesSaved: { type: 'integer' },
    policyVersion: str,
  }),
  'replace.failed': data(['reason', 'stale'], {
    reason: str,
    stale: { type: 'boolean' },
    permanent: { type: 'boolean' },
    archivePath: absPath,
  }),
  'file.kept': data(['stage', 'outputRatio', 'limitRatio', 'reason'], {
    stage: { enum: ['encode', 'verify'] },
    outputRatio: { type: 'number', minimum: 0 },
    limitRatio: { type: 'number', exclusiveMinimum: 0 },
    reason: str,
    policyVersion: str,
  }),
  'file.restored': data(['replacedPath', 'replacementArchivePath', 'restoredSize'], {
    replacedPath: absPath,
    replacementArchivePath: absPath,
    restoredSize: nonNegInt,
    policyVersion: str,
  }),
  'restore.failed': data(['reason'], { reason: str }),
  'original.deleted': data(['archivePath', 'size', 'retentionDays'], {
    archivePath: absPath,
    size: nonNegInt,
    retentionDays: { type: 'number', minimum: 0 },
  }),
  'encoder.paused': {
    type: 'object',
    required: ['node', 'reason', 'detail', 'cancelRunning'],
    additionalProperties: false,
    properties: {
      node: str,
      reason: { enum: pauseReasons },
      detail: str,
      cancelRunning: { type: 'boolean' },
    },
  },
  'encoder.resumed': {
    type: 'object',
    required: ['node', 'reason', 'detail'],
    additionalProperties: false,
    properties: {
      node: str,
      reason: { enum: pauseReasons },
      detail: str,
    },
  },
  'message.deadlettered': {
    type: 'object',
    required: ['subject', 'streamSequence', 'consumer', 'deliveries', 'reason', 'payload'],
    additionalProperties: false,
    properties: {
      subject: str,
      streamSequence: nonNegInt,
      consumer: str,
      deliveries: nonNegInt,
      reason: str,
      payload: { type: 'string' },
    },
  },
  'notify.sent': {
    type: 'object',
    required: ['target', 'kind', 'action', 'request', 'paths', 'batched', 'status'],
    additionalProperties: false,
    properties: {
      target: targetName,
      kind: integrationKind,
      action: notifyAction,
      request: str,
      paths: { type: 'array', items: str },
      batched: { type: 'integer', minimum: 1 },
      status: { type: 'integer', minimum: 100, maximum: 599 },
    },
  },
  'notify.failed': {
    type: 'object',
    required: ['target', 'kind', 'action', 'reason', 'status', 'attempt', 'final'],
    additionalProperties: false,
    properties: {
      target: targetName,
      kind: integrationKind,
      action: notifyAction,
      reason: str,
      status: { type: ['integer', 'null'], minimum: 100, maximum: 599 },
      attempt: { type: 'integer', minimum: 1 },
      final: { type: 'boolean' },
    },
  },
  'playback.started': {
    type: 'object',
    required: ['sessions', 'servers', 'detail'],
    additionalProperties: false,
    properties: {
      sessions: { type: 'integer', minimum: 1 },
      servers: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'kind', 'sessions'],
          additionalProperties: false,
          properties: {
            name: targetName,
            kind: { enum: ['jellyfin', 'emby', 'plex'] },
            sessions: nonNegInt,
          },
        },
      },
      detail: str,
    },
  },
  'playback.ended': {
    type: 'object',
    required: ['detail', 'graceMinutes'],
    additionalProperties: false,
    properties: { detail: str, graceMinutes: { type: 'number', minimum: 0 } },
  },
  'control.requested': {
    type: 'object',
    required: ['action', 'path', 'now', 'requestedBy'],
    additionalProperties: false,
    properties: {
      action: { enum: ['pause', 'resume', 'retry', 'restore'] },
      path: { oneOf: [{ type: 'null' }, absPath] },
      now: { type: 'boolean' },
      requestedBy: str,
    },
  },
};

/** JSON Schema of a whole event (envelope and data) of one type at version 1. */
export function eventSchema(type: EventType): Schema {
  return envelopeSchema(type, 1, dataSchemas[type]);
}

/**
 * The envelope around one version's data schema. A new version of a type is
 * `envelopeSchema(type, 2, newData)` added to {@link eventSchemas} next to v1 (which stays, so
 * old events are still read, then upcast), plus its upcaster in upcasting.ts.
 */
export function envelopeSchema(type: EventType, version: number, data: Schema): Schema {
  return {
    $id: `https://conform.dev/schemas/${type}.v${version}.json`,
    title: `${type} v${version}`,
    type: 'object',
    required: [
      'id',
      'type',
      'version',
      'time',
      'fileId',
      'correlationId',
      'causationId',
      'producer',
      'data',
    ],
    additionalProperties: false,
    properties: {
      id: str,
      type: { const: type },
      version: { const: version },
      time: {
        type: 'string',
        pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$',
      },
      fileId: { type: 'string', pattern: FILE_ID_PATTERN },
      correlationId: str,
      causationId: { type: ['string', 'null'], minLength: 1 },
      producer: str,
      data,
    },
  };
}

/** Every event schema, keyed `<type>@v<version>`. */
export const eventSchemas: Record<string, Schema> = Object.fromEntries(
  allEventTypes.map((t) => [`${t}@v1`, eventSchema(t)]),
);
