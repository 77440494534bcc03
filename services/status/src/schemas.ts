import { FILE_ID_PATTERN } from '@conform/contracts';

// JSON Schemas shared by the route groups. Fastify validates requests with them and
// @fastify/swagger turns them into the OpenAPI document. Response objects allow properties
// beyond the listed ones: the serializer would otherwise drop fields a read model adds.

/** Largest page a list endpoint serves. */
export const MAX_PAGE = 1_000;

export const problemSchema = {
  type: 'object',
  description: 'A problem: what went wrong, in words',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
  required: ['error', 'message'],
} as const;

export const pageProperties = {
  limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 100 },
  offset: { type: 'integer', minimum: 0, default: 0 },
} as const;

export const fileIdParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: FILE_ID_PATTERN } },
} as const;

const nullable = (type: string) => ({ type: [type, 'null'] }) as const;

export const fileRowSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    fileId: { type: 'string' },
    path: { type: 'string' },
    library: { type: 'string' },
    status: { type: 'string' },
    lastEventType: { type: 'string' },
    lastEventId: { type: 'string' },
    lastSequence: { type: 'integer' },
    updatedAt: { type: 'string', format: 'date-time' },
    policyVersion: nullable('string'),
    reason: { ...nullable('string'), description: 'why the file is in its status' },
    bytesSaved: nullable('integer'),
    archivePath: nullable('string'),
    media: {
      type: 'object',
      additionalProperties: true,
      properties: {
        container: nullable('string'),
        videoCodec: nullable('string'),
        width: nullable('integer'),
        height: nullable('integer'),
        durationSec: nullable('number'),
      },
    },
    sizeBytes: nullable('integer'),
  },
} as const;

export const jobRowSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    fileId: { type: 'string' },
    attempt: { type: 'integer' },
    path: { type: 'string' },
    library: { type: 'string' },
    encoder: { type: 'string' },
    outcome: { type: 'string' },
    startedAt: { type: 'string' },
    finishedAt: nullable('string'),
    elapsedMs: nullable('integer'),
    outputSize: nullable('integer'),
    speed: nullable('number'),
    fps: nullable('number'),
    reason: nullable('string'),
    sequence: { type: 'integer' },
  },
} as const;

/** Any JSON object; for shapes documented in prose (the event envelope, the heartbeat). */
export const anyObject = { type: 'object', additionalProperties: true } as const;

export const arrayOf = (items: object) => ({ type: 'array', items }) as const;
