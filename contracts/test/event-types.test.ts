import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Static } from '@sinclair/typebox';
import type { dataSchemaByType } from '../src/index.js';
import {
  allEventTypes,
  createEventReader,
  dataSchemas,
  eventProducer,
  eventSchemas,
  eventUpcasters,
  sampleData,
  sampleEvent,
  validateEvent,
  wrap,
  type EncodeTarget,
  type EventDataByType,
  type EventType,
  type FilePlannedData,
  type HealthReport,
  type MediaSummary,
  type StreamInfo,
  type StreamPlan,
} from '../src/index.js';

// Types are derived from the schemas (events.ts: `Static<typeof …Schema>`), so they cannot
// drift apart by construction. These checks keep it that way: a hand-written type put back in
// place of a derived one, an event type without a schema, or a schema field missing from the
// full examples below fails to compile or fails here.

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Expect<T extends true> = T;

// Compile time: each event type's data is exactly its schema's static type.
export type DataIsItsSchema = Expect<
  Equal<
    { [T in EventType]: EventDataByType[T] },
    { [T in EventType]: Static<(typeof dataSchemaByType)[T]> }
  >
>;
// Compile time: the schema map has exactly the event types as keys.
export type SchemaKeysAreEventTypes = Expect<Equal<keyof typeof dataSchemaByType, EventType>>;

type DeepRequired<T> = T extends (infer U)[]
  ? DeepRequired<U>[]
  : T extends object
    ? { [K in keyof T]-?: DeepRequired<Exclude<T[K], undefined>> }
    : T;

const stream: DeepRequired<StreamInfo> = {
  index: 1,
  kind: 'audio',
  codec: 'truehd',
  language: 'eng',
  channels: 8,
  profile: null,
  channelLayout: '7.1',
  default: true,
  forced: false,
  title: 'Main',
  filename: null,
  mimetype: null,
  codecTag: null,
  bitRate: 4_000_000,
};
const media: DeepRequired<MediaSummary> = {
  container: 'matroska,webm',
  durationSec: 60,
  bitRate: 8_000_000,
  video: {
    codec: 'h264',
    width: 1920,
    height: 1080,
    pixFmt: 'yuv420p',
    colorTransfer: 'bt709',
    profile: 'High',
    bitDepth: 8,
    frameRate: 23.976,
    colorPrimaries: 'bt709',
    colorSpace: 'bt709',
    hdr: null,
    sideData: ['Display Matrix'],
    timecode: '01:00:00:00',
    rotation: 0,
    fieldOrder: 'tt',
    idet: { fromSec: 30, frames: 200, tff: 190, bff: 0, progressive: 10, undetermined: 0 },
  },
  audioStreams: 1,
  subtitleStreams: 0,
  chapters: 3,
  streams: [stream],
};
const streamPlan: DeepRequired<StreamPlan> = {
  index: 1,
  kind: 'audio',
  action: 'convert',
  codec: 'aac',
  bitrateKbps: 256,
  reason: 'audio.lossless: convert',
};
const target: DeepRequired<EncodeTarget> = {
  videoCodec: 'hevc',
  container: 'mkv',
  quality: { nvencCq: 28, cpuCrf: 24, qsvQuality: 25, vaapiQp: 26 },
  maxHeight: 1080,
  tenBit: true,
  keepHdr: true,
  streams: [streamPlan],
  pixFmt: 'yuv420p10le',
  frameSize: { width: 1920, height: 1080 },
  allStreams: true,
  videoCopy: false,
  keepRotation: false,
  chapters: 'keep',
  deinterlace: { parity: 'tff' },
};
const health: DeepRequired<HealthReport> = {
  mode: 'quick',
  checked: '0-30 s',
  errors: [],
  errorCount: 0,
  endsEarly: '30 s decoded of 60 s',
};
const fullPlan: DeepRequired<FilePlannedData> = {
  library: '/media/movies',
  path: '/media/movies/Film.mkv',
  source: { size: 1, mtimeMs: 1 },
  decision: 'encode',
  reasons: ['video codec h264 is not hevc'],
  policyVersion: 'p2',
  target,
  durationSec: 60,
  estimatedOutputBytes: 1,
  limits: { maxSizeRatio: 0.9, ssimFloor: 0.95 },
  diskNeededBytes: 2,
  previousPolicyVersion: 'p1',
  health,
  heldBy: 'kept',
};

const event = <T extends EventType>(type: T, data: EventDataByType[T]) =>
  wrap({ type, data } as never, {
    fileId: 'fabc',
    producer: 'test@localhost',
    time: new Date('2026-01-01T00:00:00.000Z'),
  });

describe('event types and schemas', () => {
  it('every event type has a data schema, a v1 event schema, a producer and a valid sample', () => {
    for (const type of allEventTypes) {
      assert.ok(dataSchemas[type], `${type}: no data schema`);
      assert.ok(eventSchemas[`${type}@v1`], `${type}: no v1 event schema`);
      assert.ok(eventProducer[type], `${type}: no producer`);
      const result = validateEvent(sampleEvent(type));
      assert.equal(result.ok, true, result.ok ? '' : `${type}: ${result.error}`);
    }
    assert.deepEqual(Object.keys(dataSchemas).sort(), [...allEventTypes].sort());
    assert.deepEqual(Object.keys(sampleData).sort(), [...allEventTypes].sort());
  });

  it('every schema version names a known type, versions run 1..n, and each step has an upcaster', () => {
    const versions = new Map<string, number[]>();
    for (const key of Object.keys(eventSchemas)) {
      const match = /^([a-z]+\.[a-z]+)@v(\d+)$/.exec(key);
      assert.ok(match, `schema key ${key} is not <type>@v<n>`);
      assert.ok((allEventTypes as readonly string[]).includes(match[1]!), `${key}: unknown type`);
      versions.set(match[1]!, [...(versions.get(match[1]!) ?? []), Number(match[2])]);
    }
    for (const [type, list] of versions) {
      const sorted = [...list].sort((a, b) => a - b);
      assert.deepEqual(
        sorted,
        sorted.map((_, i) => i + 1),
        `${type}: versions ${sorted.join(', ')}`,
      );
      for (const from of sorted.slice(0, -1)) {
        assert.ok(
          eventUpcasters.some((u) => u.type === type && u.fromVersion === from),
          `${type}: no upcaster from v${from}`,
        );
      }
    }
  });

  it('every object schema requires only keys it has, and the strict check refuses any other', () => {
    const walk = (schema: unknown, at: string): void => {
      if (!schema || typeof schema !== 'object') return;
      const s = schema as Record<string, unknown>;
      if (s.type === 'object' && s.properties) {
        const keys = Object.keys(s.properties as object);
        for (const r of (s.required as string[] | undefined) ?? []) {
          assert.ok(keys.includes(r), `${at}: requires "${r}" but has no such property`);
        }
        assert.equal(s.additionalProperties, false, `${at}: must refuse unknown keys`);
      }
      for (const [k, v] of Object.entries(s)) {
        if (Array.isArray(v)) v.forEach((item, i) => walk(item, `${at}/${k}/${i}`));
        else walk(v, `${at}/${k}`);
      }
    };
    for (const type of allEventTypes) walk(dataSchemas[type], type);
  });

  it('an example with every field of the type set is valid: the schema knows each field', () => {
    const plan = validateEvent(event('file.planned', fullPlan));
    assert.equal(plan.ok, true, plan.ok ? '' : plan.error);
    const probed = validateEvent(
      event('file.probed', {
        library: fullPlan.library,
        path: fullPlan.path,
        source: fullPlan.source,
        media,
      }),
    );
    assert.equal(probed.ok, true, probed.ok ? '' : probed.error);
  });
});

describe('file.planned v1 widening', () => {
  // The file.planned v1 schema as it was before remux, damaged and the later optional fields:
  // what a node not yet upgraded reads with.
  const narrow = structuredClone(eventSchemas['file.planned@v1']) as {
    properties: { data: { properties: Record<string, unknown> } };
  };
  const props = narrow.properties.data.properties;
  props.decision = { enum: ['encode', 'skip', 'compliant'] };
  delete props.health;
  delete props.heldBy;
  delete props.diskNeededBytes;
  delete props.previousPolicyVersion;
  const oldReader = createEventReader({ schemas: { ...eventSchemas, 'file.planned@v1': narrow } });
  const plan = (data: Partial<FilePlannedData>) =>
    JSON.parse(
      JSON.stringify(event('file.planned', { ...sampleData['file.planned'], ...data })),
    ) as unknown;

  it('an old reader refuses a remux or damaged plan, naming the decision, instead of misreading it', () => {
    for (const decision of ['remux', 'damaged'] as const) {
      const read = oldReader.read(
        plan({ decision, health: decision === 'damaged' ? health : undefined }),
      );
      assert.equal(read.ok, false, `${decision} was read`);
      assert.match(
        !read.ok ? read.error : '',
        /\/data\/decision: must be equal to one of the allowed values/,
      );
    }
  });

  it('an old reader reads an encode plan with the new optional fields as the encode it knew', () => {
    const read = oldReader.read(
      plan({ diskNeededBytes: 5, previousPolicyVersion: 'p0', heldBy: undefined }),
    );
    assert.equal(read.ok, true, read.ok ? '' : read.error);
    if (!read.ok || read.event.type !== 'file.planned') return;
    assert.equal(read.event.data.decision, 'encode');
    assert.equal('diskNeededBytes' in read.event.data, false);
    assert.equal('previousPolicyVersion' in read.event.data, false);
    assert.deepEqual(read.event.data.target, sampleData['file.planned'].target);
  });
});
