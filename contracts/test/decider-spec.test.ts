import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeciderSpecification, type Decider } from '../src/index.js';

// A counter that refuses to go below zero: enough to show each outcome of the helper.
type Input = { kind: 'add'; by: number };
type Event = { kind: 'added'; by: number };
const counter: Decider<Input, number, Event> = {
  initialState: () => 0,
  evolve: (n, e) => n + e.by,
  decide: (input, n) => {
    if (n + input.by < 0) throw new RangeError(`cannot go below zero from ${n}`);
    return input.by === 0 ? [] : [{ kind: 'added', by: input.by }];
  },
};
const given = DeciderSpecification(counter);

describe('DeciderSpecification', () => {
  it('folds the given events with evolve before deciding', () =>
    given({ kind: 'added', by: 2 }, { kind: 'added', by: 3 })
      .when({ kind: 'add', by: -5 })
      .then((events, state) => {
        assert.equal(state, 5);
        assert.deepEqual(events, [{ kind: 'added', by: -5 }]);
      }));

  it('then compares the decided events', () => {
    given()
      .when({ kind: 'add', by: 1 })
      .then([{ kind: 'added', by: 1 }]);
    assert.throws(() =>
      given()
        .when({ kind: 'add', by: 1 })
        .then([{ kind: 'added', by: 2 }]),
    );
  });

  it('thenNothingHappened fails when something was decided', () => {
    given().when({ kind: 'add', by: 0 }).thenNothingHappened();
    assert.throws(() => given().when({ kind: 'add', by: 1 }).thenNothingHappened());
  });

  it('thenThrows checks the class, the message or a predicate, and fails when nothing throws', () => {
    given().when({ kind: 'add', by: -1 }).thenThrows(RangeError);
    given()
      .when({ kind: 'add', by: -1 })
      .thenThrows(/below zero from 0/);
    given()
      .when({ kind: 'add', by: -1 })
      .thenThrows((err) => err instanceof RangeError);
    assert.throws(() => given().when({ kind: 'add', by: -1 }).thenThrows(TypeError));
    assert.throws(() => given().when({ kind: 'add', by: 1 }).thenThrows());
  });
});
