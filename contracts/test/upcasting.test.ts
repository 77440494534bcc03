import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createEventReader,
  dataSchemas,
  decodeEvent,
  envelopeSchema,
  eventSchemas,
  sampleEvent,
  validateEvent,
  type Upcaster,
} from '../src/index.js';

const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe('tolerant reading', () => {
  it('reads a v1 event carrying keys it does not know, and drops them before the handler', () => {
    const event = sampleEvent('file.planned') as unknown as Record<string, unknown> & {
      data: Record<string, unknown> & { target: Record<string, unknown> };
    };
    event.traceparent = '00-abc-def-01'; // a newer envelope key
    event.data.pool = 'gpu-hevc'; // a newer data key
    event.data.target.filmGrain = 8; // a newer nested key
    assert.equal(validateEvent(structuredClone(event)).ok, false, 'publishing it stays strict');

    const read = decodeEvent(bytes(event));
    assert.equal(read.ok, true, read.ok ? '' : read.error);
    if (!read.ok || read.event.type !== 'file.planned') return;
    assert.equal('traceparent' in read.event, false);
    assert.equal('pool' in read.event.data, false);
    assert.deepEqual(read.event.data.target, { videoCodec: 'hevc', container: 'mp4' });
    // What an older handler copies from it into its own event passes the strict check.
    const reEmitted = { ...sampleEvent('encode.completed') };
    reEmitted.data = { ...reEmitted.data, target: read.event.data.target! };
    assert.equal(validateEvent(reEmitted).ok, true);
  });

  it('reads an old-shape event that lacks every optional key', () => {
    const old = sampleEvent('encode.completed');
    const data = old.data as unknown as Record<string, unknown>;
    for (const key of ['fps', 'policyVersion', 'limits']) delete data[key];
    const read = decodeEvent(bytes(old));
    assert.equal(read.ok, true, read.ok ? '' : read.error);
  });

  it('still rejects what it cannot interpret: a wrong type, a missing required key', () => {
    const wrong = sampleEvent('file.planned') as unknown as { data: Record<string, unknown> };
    wrong.data.decision = 'maybe';
    const bad = decodeEvent(bytes(wrong));
    assert.match(!bad.ok ? bad.error : '', /\/data\/decision/);
    const missing = sampleEvent('file.discovered') as unknown as { data: Record<string, unknown> };
    delete missing.data.size;
    assert.match(
      (() => {
        const r = decodeEvent(bytes(missing));
        return r.ok ? '' : r.error;
      })(),
      /missing key "size"/,
    );
  });
});

describe('upcasting', () => {
  // A v2 of encode.failed that splits the free-text reason into a code and a message.
  const v2Data = structuredClone(dataSchemas['encode.failed']) as {
    required: string[];
    properties: Record<string, unknown>;
  };
  v2Data.required = [...v2Data.required.filter((k) => k !== 'reason'), 'code', 'message'];
  delete v2Data.properties.reason;
  v2Data.properties.code = { type: 'string', minLength: 1 };
  v2Data.properties.message = { type: 'string', minLength: 1 };
  const schemas = {
    ...eventSchemas,
    'encode.failed@v2': envelopeSchema('encode.failed', 2, v2Data),
  };
  const upcaster: Upcaster = {
    type: 'encode.failed',
    fromVersion: 1,
    up: (data) => {
      const { reason, ...rest } = data as { reason: string };
      return { ...rest, code: 'UNCLASSIFIED', message: reason };
    },
  };
  const reader = createEventReader({ schemas, upcasters: [upcaster] });

  it('turns a v1 event into the latest version, keeping id and envelope', () => {
    const v1 = sampleEvent('encode.failed');
    const read = reader.decode(bytes(v1));
    assert.equal(read.ok, true, read.ok ? '' : read.error);
    if (!read.ok) return;
    assert.equal(read.event.version, 2);
    assert.equal(read.event.id, v1.id);
    const data = read.event.data as unknown as Record<string, unknown>;
    assert.equal(data.code, 'UNCLASSIFIED');
    assert.equal(data.message, v1.data.reason);
    assert.equal('reason' in data, false);
  });

  it('reads the latest version as it is, and refuses a malformed one', () => {
    const v2 = { ...sampleEvent('encode.failed'), version: 2 } as Record<string, unknown>;
    v2.data = {
      library: '/m',
      path: '/m/a.mkv',
      encoder: 'x',
      permanent: true,
      code: 'C',
      message: 'm',
    };
    assert.equal(reader.read(structuredClone(v2)).ok, true);
    (v2.data as Record<string, unknown>).code = '';
    assert.equal(reader.read(v2).ok, false);
  });

  it('marks a version newer than it knows, so the worker leaves it for an upgraded node', () => {
    const v3 = { ...sampleEvent('encode.failed'), version: 3 };
    const read = reader.decode(bytes(v3));
    assert.equal(read.ok, false);
    assert.equal(!read.ok && read.newer, true);
    assert.match(!read.ok ? read.error : '', /v3 is newer than this node reads \(up to v2\)/);
    // The catalogue today: every type at v1, so a v2 is newer.
    const today = decodeEvent(bytes({ ...sampleEvent('encode.failed'), version: 2 }));
    assert.equal(!today.ok && today.newer, true);
  });

  it('names a missing upcaster', () => {
    const noUp = createEventReader({ schemas });
    const read = noUp.decode(bytes(sampleEvent('encode.failed')));
    assert.match(!read.ok ? read.error : '', /no upcaster from encode.failed v1 to v2/);
  });
});
