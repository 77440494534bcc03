/**
 * A pure decision unit: given an input and the state folded from past events, which events
 * should happen. The clock, probe results and file stats arrive inside `Input` as data.
 */
export interface Decider<Input, State, Event> {
  decide(input: Input, state: State): Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}

/** Compile-time exhaustiveness check for switch statements over unions. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unhandled ${what}: ${JSON.stringify(value)}`);
}
