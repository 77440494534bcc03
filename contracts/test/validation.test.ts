import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allEventTypes,
  decodeEvent,
  eventIdFor,
  fileIdFor,
  fileIdFromSubject,
  isValidFileId,
  sampleEvent,
  subjectFor,
  validateEvent,
  wrap,
} from '../src/index.js';

describe('event schemas', () => {
  for (const type of allEventTypes) {
    it(`accepts a valid ${type}`, () => {
      const result = validateEvent(sampleEvent(type));
      assert.equal(result.ok, true, result.ok ? '' : result.error);
    });
  }

  it('names the missing key', () => {
    const event = sampleEvent('file.discovered') as unknown as { data: Record<string, unknown> };
    delete event.data.size;
    const result = validateEvent(event);
    assert.equal(result.ok, false);
    assert.match(!result.ok ? result.error : '', /\/data: missing key "size"/);
  });

  it('names an unexpected key and a wrong type with its path', () => {
    const event = sampleEvent('file.planned') as unknown as { data: Record<string, unknown> };
    event.data.extra = 1;
    event.data.decision = 'maybe';
    const result = validateEvent(event);
    assert.equal(result.ok, false);
    const error = !result.ok ? result.error : '';
    assert.match(error, /unexpected key "extra"/);
    assert.match(error, /\/data\/decision: must be equal to one of the allowed values/);
  });

  it('names a verdict decode device it does not know', () => {
    const event = sampleEvent('verify.passed') as unknown as { data: Record<string, unknown> };
    event.data.decode = { device: 'opencl', reason: 'x' };
    const result = validateEvent(event);
    assert.match(
      !result.ok ? result.error : '',
      /\/data\/decode\/device: must be equal to one of the allowed values/,
    );
  });

  it('rejects unknown types and versions', () => {
    const unknownType = validateEvent({ ...sampleEvent('file.discovered'), type: 'file.eaten' });
    assert.match(!unknownType.ok ? unknownType.error : '', /unknown event type "file.eaten"/);
    const v2 = validateEvent({ ...sampleEvent('file.discovered'), version: 2 });
    assert.match(!v2.ok ? v2.error : '', /no schema for version 2/);
  });

  it('rejects a file id that would break the subject', () => {
    const result = validateEvent({ ...sampleEvent('file.discovered'), fileId: 'a.b' });
    assert.match(!result.ok ? result.error : '', /\/fileId/);
  });

  it('decodes bytes and reports bad JSON instead of throwing', () => {
    const bad = decodeEvent(new TextEncoder().encode('{not json'));
    assert.equal(bad.ok, false);
    assert.match(!bad.ok ? bad.error : '', /not JSON/);
    const good = decodeEvent(
      new TextEncoder().encode(JSON.stringify(sampleEvent('encode.failed'))),
    );
    assert.equal(good.ok, true);
  });
});

describe('envelope', () => {
  it('derives the same id from the same cause, another from another', () => {
    assert.equal(
      eventIdFor('f1', 'file.planned', 1, 'c1'),
      eventIdFor('f1', 'file.planned', 1, 'c1'),
    );
    assert.notEqual(
      eventIdFor('f1', 'file.planned', 1, 'c1'),
      eventIdFor('f1', 'file.planned', 1, 'c2'),
    );
  });

  it('inherits the correlation id and records the causation id', () => {
    const first = sampleEvent('file.discovered');
    const next = wrap(
      {
        type: 'encode.failed',
        data: { library: '/l', path: '/l/a', encoder: 'x', reason: 'r', permanent: true },
      },
      { fileId: first.fileId, producer: 'encoder@h', time: new Date(0), causation: first },
    );
    assert.equal(next.correlationId, first.correlationId);
    assert.equal(next.causationId, first.id);
  });

  it('makes subject-safe file ids and reads them back from subjects', () => {
    const id = fileIdFor('/lib', 'dir with space/a.b*c>.mkv');
    assert.ok(isValidFileId(id));
    assert.equal(fileIdFromSubject(subjectFor('file.planned', id)), id);
    assert.equal(fileIdFromSubject('other.subject'), null);
  });
});
