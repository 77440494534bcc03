import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import {
  allEventTypes,
  createBatchDecoder,
  dataSchemas,
  decodeEvent,
  decodeEventBatch,
  envelopeSchema,
  eventSchemas,
  sampleEvent,
  type Upcaster,
} from '../src/index.js';

// sampleEvent shares its data objects between calls: change only copies.
const sample = (...args: Parameters<typeof sampleEvent>) => structuredClone(sampleEvent(...args));

const bytes = (value: unknown) =>
  new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

/** Payloads that exercise every path: valid, tolerated extras, and each kind of bad input. */
function mixedPayloads(): Uint8Array[] {
  const valid = allEventTypes.map((type) => bytes(sample(type, `b-${type.replace('.', '-')}`)));
  const extra = sample('file.planned') as unknown as Record<string, unknown> & {
    data: Record<string, unknown>;
  };
  extra.traceparent = '00-abc-def-01';
  extra.data.pool = 'gpu-hevc';
  const wrongDecision = sample('file.planned') as unknown as { data: Record<string, unknown> };
  wrongDecision.data.decision = 'maybe';
  const twoProblems = sample('file.discovered') as unknown as {
    data: Record<string, unknown>;
  };
  delete twoProblems.data.size;
  twoProblems.data.mtimeMs = -1;
  return [
    ...valid,
    bytes(extra),
    bytes('not json'),
    bytes('[1, 2]'),
    bytes('null'),
    bytes({ ...sample('file.probed'), type: 'file.teleported' }),
    bytes({ ...sample('file.probed'), version: 2 }),
    bytes({ ...sample('file.probed'), version: 'one' }),
    bytes(wrongDecision),
    bytes(twoProblems),
  ];
}

describe('batch decoder', () => {
  it('decodes every payload exactly as decodeEvent does, errors included', () => {
    const payloads = mixedPayloads();
    const batch = decodeEventBatch(payloads);
    assert.equal(batch.length, payloads.length);
    let valid = 0;
    for (const [i, payload] of payloads.entries()) {
      assert.deepEqual(batch[i], decodeEvent(payload), `payload ${i}: ${Buffer.from(payload)}`);
      if (batch[i]!.ok) valid++;
    }
    assert.equal(valid, allEventTypes.length + 1);
  });

  it('drops unknown keys on the fast path, as the tolerant reader does', () => {
    const extra = sample('file.planned') as unknown as Record<string, unknown> & {
      data: Record<string, unknown>;
    };
    extra.traceparent = 'x';
    extra.data.pool = 'gpu';
    const [read] = createBatchDecoder().decodeBatch([bytes(extra)]);
    assert.equal(read?.ok, true);
    if (!read?.ok) return;
    assert.equal('traceparent' in read.event, false);
    assert.equal('pool' in read.event.data, false);
  });

  it('reports every problem of a bad event, not only the first the fast check met', () => {
    const bad = sample('file.discovered') as unknown as { data: Record<string, unknown> };
    delete bad.data.size;
    bad.data.mtimeMs = -1;
    const [read] = decodeEventBatch([bytes(bad)]);
    assert.equal(read?.ok, false);
    const error = read && !read.ok ? read.error : '';
    assert.match(error, /missing key "size"/);
    assert.match(error, /\/data\/mtimeMs: must be >= 0/);
  });

  it('upcasts an old version through the full reader of a custom catalogue', () => {
    const v2Data = structuredClone(dataSchemas['encode.failed']) as {
      required: string[];
      properties: Record<string, unknown>;
    };
    v2Data.required = [...v2Data.required.filter((k) => k !== 'reason'), 'code'];
    delete v2Data.properties.reason;
    v2Data.properties.code = { type: 'string', minLength: 1 };
    const upcaster: Upcaster = {
      type: 'encode.failed',
      fromVersion: 1,
      up: (data) => {
        const rest: Record<string, unknown> = { ...data };
        delete rest.reason;
        return { ...rest, code: 'UNCLASSIFIED' };
      },
    };
    const decoder = createBatchDecoder({
      schemas: { ...eventSchemas, 'encode.failed@v2': envelopeSchema('encode.failed', 2, v2Data) },
      upcasters: [upcaster],
    });
    const v1 = sample('encode.failed');
    const v2 = { ...v1, version: 2, data: { ...v1.data, reason: undefined, code: 'C' } };
    const [old, latest, newer] = decoder.decodeBatch([
      bytes(v1),
      bytes(v2),
      bytes({ ...v1, version: 3 }),
    ]);
    assert.equal(old?.ok && old.event.version, 2);
    assert.equal(old?.ok && (old.event.data as unknown as { code: string }).code, 'UNCLASSIFIED');
    assert.equal(latest?.ok && (latest.event.data as unknown as { code: string }).code, 'C');
    assert.equal(newer && !newer.ok && newer.newer, true);
  });

  it('every catalogue schema passes the meta-schema (the batch decoder skips that check) and compiles strictly', () => {
    const ajv = new Ajv({ strict: true, allowUnionTypes: true });
    for (const [key, schema] of Object.entries(eventSchemas)) {
      assert.ok(ajv.validateSchema(schema), `${key}: ${ajv.errorsText()}`);
      assert.doesNotThrow(() => ajv.compile(schema), key);
    }
  });
});
