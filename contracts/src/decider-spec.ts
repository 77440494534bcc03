import assert from 'node:assert/strict';
import type { Decider } from './decider.js';

/** What `when` leads to: the events decided, nothing, or an error. */
export interface DeciderThen<Event, State> {
  /** The decided events equal these, or pass this check. */
  then(expected: Event[] | ((events: Event[], state: State) => void)): void;
  /** Nothing is decided. */
  thenNothingHappened(): void;
  /** `decide` throws; optionally an error of this class or one passing the check. */
  thenThrows(
    expected?: (new (...args: never[]) => Error) | ((err: unknown) => boolean) | RegExp,
  ): void;
}

/**
 * The one way deciders are specified: `given(past events).when(input).then(events)`. The state
 * is folded from the past events with the decider's own `evolve`, so a test states history,
 * never internals (emmett's DeciderSpecification is the model).
 */
export function DeciderSpecification<Input, State, Event>(
  decider: Decider<Input, State, Event>,
): (...given: Event[]) => { when(input: Input): DeciderThen<Event, State> } {
  return (...given) => {
    const state = given.reduce((s, e) => decider.evolve(s, e), decider.initialState());
    return {
      when: (input) => ({
        then(expected) {
          const events = decider.decide(input, state);
          if (typeof expected === 'function') expected(events, state);
          else assert.deepEqual(events, expected);
        },
        thenNothingHappened() {
          assert.deepEqual(decider.decide(input, state), []);
        },
        thenThrows(expected) {
          assert.throws(
            () => decider.decide(input, state),
            (err: unknown) => {
              if (expected === undefined) return true;
              if (expected instanceof RegExp) return expected.test((err as Error)?.message);
              if (expected.prototype instanceof Error || expected === Error)
                return err instanceof (expected as new () => Error);
              return (expected as (err: unknown) => boolean)(err);
            },
          );
        },
      }),
    };
  };
}
