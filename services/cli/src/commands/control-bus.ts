import { hostname } from 'node:os';
import { connectBus, EventPublisher, provisionEventLog, type Bus } from '@conform/bus';
import type { ControlRequestedData } from '@conform/contracts';
import { CliError, UsageError } from '../errors.js';

/** Connects to the NATS a running conform uses (`--nats`, else NATS_URL: natsOption), runs `fn`, closes. */
export async function withBus<T>(
  natsUrl: string | undefined,
  fn: (bus: Bus) => Promise<T>,
): Promise<T> {
  const url = natsUrl;
  if (!url) throw new UsageError('give the NATS server conform runs on: --nats URL or NATS_URL');
  let bus: Bus;
  try {
    bus = await connectBus({ servers: url, name: `conform-cli@${hostname()}` });
  } catch (err) {
    throw new CliError(
      'NATS_UNREACHABLE',
      `cannot reach NATS at ${url}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  try {
    await provisionEventLog(bus.jsm);
    return await fn(bus);
  } finally {
    await bus.close();
  }
}

/** Publishes an operator's request; each request is a new fact, so its id is unique. */
export async function publishControl(
  bus: Bus,
  fileId: string,
  data: Omit<ControlRequestedData, 'requestedBy'>,
): Promise<void> {
  const publisher = new EventPublisher(bus.js, { producer: `cli@${hostname()}` });
  await publisher.emit(
    { type: 'control.requested', data: { ...data, requestedBy: `cli@${hostname()}` } },
    { fileId, discriminator: `${Date.now()}-${process.pid}-${Math.random()}` },
  );
}
