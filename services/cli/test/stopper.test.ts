import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '@conform/bus';
import { Stopper, StopPhase } from '../src/stopper.js';

// The stop machinery with real promises and no processes: parallel phases, one deadline.

describe('Stopper', () => {
  it('stops the steps of one phase in parallel, and phases in order', async () => {
    const stopper = new Stopper(silentLogger());
    const order: string[] = [];
    // Each service step finishes only once the other has started: run one after the other,
    // they would wait for each other until the deadline forced the stop.
    let startedA!: () => void;
    let startedB!: () => void;
    const a = new Promise<void>((r) => (startedA = r));
    const b = new Promise<void>((r) => (startedB = r));
    stopper.add(StopPhase.Bus, 'bus', async () => void order.push('bus'));
    stopper.add(StopPhase.Services, 'a', async () => {
      startedA();
      await b;
      order.push('a');
    });
    stopper.add(StopPhase.Services, 'b', async () => {
      startedB();
      await a;
      order.push('b');
    });
    let forced = false;
    const originalForce = stopper.force.bind(stopper);
    stopper.force = () => ((forced = true), originalForce());
    await stopper.stop({ deadlineMs: 5_000 });
    assert.equal(forced, false);
    assert.deepEqual(order.slice(2), ['bus']);
    assert.deepEqual(order.slice(0, 2).sort(), ['a', 'b']);
  });

  it('forces the stop once the deadline passes with a step still hanging', async () => {
    const stopper = new Stopper(silentLogger());
    const ran: string[] = [];
    stopper.add(StopPhase.Services, 'hangs', () => new Promise<void>(() => undefined));
    stopper.add(StopPhase.Bus, 'bus', async () => void ran.push('bus'));
    let forced = 0;
    const originalForce = stopper.force.bind(stopper);
    stopper.force = () => (forced++, originalForce());
    await stopper.stop({ deadlineMs: 200 });
    assert.equal(forced, 1);
    assert.deepEqual(ran, [], 'later phases are skipped by the forced stop');
  });

  it('gives way to a forced stop requested while the clean stop runs', async () => {
    const stopper = new Stopper(silentLogger());
    stopper.add(StopPhase.Services, 'hangs', () => new Promise<void>(() => undefined));
    const stopping = stopper.stop({ deadlineMs: 60_000 });
    await stopper.force();
    await stopping; // resolves although the hanging step never does
  });
});
