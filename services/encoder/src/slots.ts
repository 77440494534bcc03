import type { PauseController } from './pause-controller.js';
import type { Backend } from './profiles.js';

/**
 * Counts encodes per device: a message waits here for its device's slot while its pull slot
 * keeps it alive. NVENC session limits differ by GPU, so each device has its own count.
 */
export class DeviceSlots {
  private readonly free: Map<Backend, number>;
  private readonly waiting = new Map<Backend, (() => void)[]>();

  constructor(private readonly limits: Readonly<Record<Backend, number>>) {
    this.free = new Map(Object.entries(limits) as [Backend, number][]);
  }

  /** Slots of `device` and how many are taken now (what the node's heartbeat reports). */
  usage(device: Backend): { slots: number; inUse: number } {
    const slots = this.limits[device];
    return { slots, inUse: slots - (this.free.get(device) ?? 0) };
  }

  /** Resolves with a release function once `device` has a free slot, or rejects on abort. */
  acquire(device: Backend, signal: AbortSignal): Promise<() => void> {
    return new Promise((resolve, reject) => {
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        const next = this.waiting.get(device)?.shift();
        if (next) next();
        else this.free.set(device, (this.free.get(device) ?? 0) + 1);
      };
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        resolve(release);
      };
      const onAbort = () => {
        const queue = this.waiting.get(device) ?? [];
        this.waiting.set(
          device,
          queue.filter((w) => w !== grant),
        );
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      if (signal.aborted) return onAbort();
      if ((this.free.get(device) ?? 0) > 0) {
        this.free.set(device, (this.free.get(device) ?? 0) - 1);
        return resolve(release);
      }
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.set(device, [...(this.waiting.get(device) ?? []), grant]);
    });
  }
}

/**
 * Takes a device slot. A plan pulled ahead of its slot (see lookahead.ts) that the node paused
 * under meanwhile does not start: it gives the slot back and waits for the resume, as a plan
 * still in the queue would.
 */
export async function takeSlot(
  slots: DeviceSlots,
  pause: Pick<PauseController, 'paused' | 'whenRunning'>,
  device: Backend,
  signal: AbortSignal,
): Promise<() => void> {
  for (;;) {
    const usage = slots.usage(device);
    const waited = usage.inUse >= usage.slots;
    const release = await slots.acquire(device, signal);
    if (!waited || !pause.paused) return release;
    release();
    await pause.whenRunning(signal);
    if (signal.aborted) throw new Error('stopped while paused before the encode started');
  }
}
