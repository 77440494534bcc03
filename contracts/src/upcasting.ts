import type { EventType } from './event-types.js';

/**
 * Turns an event of one version of a type into the next version's shape. Registered when a
 * type gets an incompatible new version; the old version's schema stays, so events already in
 * the log (or from nodes not yet upgraded) are read as the new version. Modelled on emmett's
 * upcasting: readers see only the latest shape, the log keeps what was written.
 */
export interface Upcaster {
  type: EventType;
  /** The version this reads; it returns the `data` of version `fromVersion + 1`. */
  fromVersion: number;
  /** Pure: the old event's data (already checked against its own schema) in, new data out. */
  up(
    data: Record<string, unknown>,
    envelope: { id: string; time: string; fileId: string },
  ): unknown;
}

/**
 * The upcasters of the catalogue. Empty while every type is at version 1; a `v2` of a type
 * adds its schema in schemas.ts and its `fromVersion: 1` upcaster here, in the same change.
 */
export const eventUpcasters: readonly Upcaster[] = [];
