import { openNodeRegistry, unservedWork, workBacklog, type Bus } from '@conform/bus';

/**
 * The encoder nodes from their heartbeats (with each beat's age and whether the node is lost)
 * and the queued work no live node can take: what `/api/nodes` answers and the unserved-work
 * metric counts.
 */
export async function nodesView(bus: Bus, now: number = Date.now()) {
  const entries = await (await openNodeRegistry(bus, { create: false })).list();
  const nodes = entries.flatMap((e) => {
    if (!e.ok) return [];
    const ageSec = Math.max(0, Math.round((now - Date.parse(e.heartbeat.time)) / 1000));
    // Three missed beats: the node is gone without saying so (killed, cut off).
    const lost = e.heartbeat.state === 'running' && ageSec > 3 * e.heartbeat.intervalSec;
    return [{ ...e.heartbeat, ageSec, lost }];
  });
  const unreadable = entries.flatMap((e) => (e.ok ? [] : [{ key: e.key, error: e.error }]));
  // Jobs waiting where no live node can take them (pool or size): stuck until one comes.
  const unserved = unservedWork(await workBacklog(bus), nodes);
  return { nodes, unreadable, unserved };
}
