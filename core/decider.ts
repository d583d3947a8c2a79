import type { Event } from './event';

type AnyEvent = Event<string, Record<string, unknown>>;

/**
 * An aggregate as a Decider: pure functions only. Time, scores and model versions arrive inside
 * the command, never from a clock, so the same history and command always give the same events.
 */
export interface Decider<Command, State, E extends AnyEvent> {
  readonly initialState: State;
  decide(command: Command, state: State): readonly E[];
  evolve(state: State, event: E): State;
}

/** Rebuilds state from history; the only way state is ever produced. */
export function fold<C, S, E extends AnyEvent>(decider: Decider<C, S, E>, events: Iterable<E>): S {
  let state = decider.initialState;
  for (const e of events) state = decider.evolve(state, e);
  return state;
}
