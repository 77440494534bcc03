import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { subjectFor } from '@conform/contracts';
import { CATALOGUE_EVENT_TYPES } from '../src/decide.js';
import { wanted } from '../src/log-follower.js';

describe('log follower: which messages are decoded', () => {
  it('decodes the six types the catalogue folds, from their subjects', () => {
    for (const type of [
      'file.discovered',
      'file.changed',
      'file.moved',
      'file.removed',
      'file.replaced',
      'file.restored',
    ] as const) {
      assert.equal(wanted(subjectFor(type, 'f1'), CATALOGUE_EVENT_TYPES), true, type);
    }
  });
  it("skips the planner's file events unread", () => {
    for (const type of ['file.probed', 'file.planned', 'file.unreadable'] as const) {
      assert.equal(wanted(subjectFor(type, 'f1'), CATALOGUE_EVENT_TYPES), false, type);
    }
  });
  it('decodes everything when no types are given, and nothing from a malformed subject', () => {
    assert.equal(wanted(subjectFor('file.probed', 'f1'), undefined), true);
    assert.equal(wanted('conform.evt', CATALOGUE_EVENT_TYPES), false);
  });
});
