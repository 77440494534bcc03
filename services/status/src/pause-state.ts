import type { EventEnvelope } from '@conform/contracts';

// Why encoding is paused, folded from the control subject of the event log (every operator
// request and every node's encoder.paused / encoder.resumed). Pure: the events come in.

/** One reason one node is paused for. */
export interface HeldPause {
  reason: string;
  detail: string;
  since: string;
}

/** The queue view's pause line. */
export interface PauseView {
  /** True while any node holds any reason. */
  paused: boolean;
  nodes: { node: string; reasons: HeldPause[] }[];
  /** The last operator pause or resume request. */
  lastRequest: { action: 'pause' | 'resume'; now: boolean; by: string; time: string } | null;
}

/** Folds control events, oldest first. Unknown reasons (a newer node's) are shown as given. */
export function pauseViewOf(events: readonly EventEnvelope[]): PauseView {
  const held = new Map<string, Map<string, HeldPause>>();
  let lastRequest: PauseView['lastRequest'] = null;
  for (const e of events) {
    if (e.type === 'encoder.paused') {
      const reasons = held.get(e.data.node) ?? new Map<string, HeldPause>();
      held.set(e.data.node, reasons);
      if (!reasons.has(e.data.reason)) {
        reasons.set(e.data.reason, { reason: e.data.reason, detail: e.data.detail, since: e.time });
      }
    } else if (e.type === 'encoder.resumed') {
      held.get(e.data.node)?.delete(e.data.reason);
    } else if (
      e.type === 'control.requested' &&
      (e.data.action === 'pause' || e.data.action === 'resume')
    ) {
      lastRequest = {
        action: e.data.action,
        now: e.data.now,
        by: e.data.requestedBy,
        time: e.time,
      };
    }
  }
  const nodes = [...held.entries()]
    .map(([node, reasons]) => ({ node, reasons: [...reasons.values()] }))
    .filter((n) => n.reasons.length > 0)
    .sort((a, b) => a.node.localeCompare(b.node));
  return { paused: nodes.length > 0, nodes, lastRequest };
}
