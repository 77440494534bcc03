import type { Readiness } from './routes/context.js';
import Fastify, {
  LogController,
  type FastifyError,
  type FastifySchemaValidationError,
} from 'fastify';
import fastifySwagger from '@fastify/swagger';
import type { Registry } from 'prom-client';
import type { Bus, EventPublisher, Logger } from '@conform/bus';
import type { DryRunReport } from '@conform/contracts';
import type { ReadModels } from '@conform/projections';
import { assetRoutes } from './assets.js';
import { StatusListenError } from './errors.js';
import { createMetricsRegistry } from './metrics.js';
import { startLiveFeed } from './live.js';
import { message, type RouteContext } from './routes/context.js';
import { controlRoutes } from './routes/control.js';
import { LiveStreams, liveRoutes } from './routes/live.js';
import { readRoutes } from './routes/read.js';
import { MAX_PAGE } from './schemas.js';

/** Options of {@link startStatusServer}. */
export interface StatusServerOptions {
  readModels: ReadModels;
  log: Logger;
  /** Defaults to 127.0.0.1: the status page is not exposed unless asked for. */
  host?: string;
  /** 0 (the default) picks any free port; the returned `url` has the real one. */
  port?: number;
  /**
   * Whether the rest of the process is ready (bus connected, consumers healthy, projector
   * moving); a report's reasons are served in the 503 body.
   */
  isReady?: () => Promise<Readiness>;
  /** The bus: per-file history from the stream, the live stream, nodes, projection lag. */
  bus?: Bus;
  /** Publishes control requests; without it (or without `controlToken`) control answers 403. */
  publisher?: EventPublisher;
  /** Bearer token the POST control endpoints require. */
  controlToken?: string;
  /** The process's bus metrics, served at /metrics next to the read-model gauges. */
  busMetrics?: Registry;
  /** `conform plan --dry-run` under the running policy; without it /api/dry-run answers 503. */
  dryRun?: () => Promise<DryRunReport>;
}

/** A listening status server. */
export interface StatusServer {
  url: string;
  close(): Promise<void>;
}

/** Largest page `/api/files` serves. */
export const MAX_FILES_PAGE = MAX_PAGE;

/**
 * Serves health, readiness, Prometheus metrics, the read models as JSON, the live stream,
 * control requests and the dashboard. Three route groups (read, control, live), each a fastify
 * plugin with its schemas; the OpenAPI document is generated from those schemas.
 */
export async function startStatusServer(opts: StatusServerOptions): Promise<StatusServer> {
  const { db } = opts.readModels;
  const log = opts.log.child({ service: 'status' });
  const live = startLiveFeed(opts.bus?.nc ?? null, log);
  const streams = new LiveStreams();
  const ctx: RouteContext = {
    db,
    bus: opts.bus ?? null,
    live,
    isReady: opts.isReady ?? (async () => true),
    metrics: createMetricsRegistry(db, {
      jsm: opts.bus?.jsm,
      bus: opts.bus,
      extra: opts.busMetrics,
      liveClients: () => streams.size,
    }),
    publisher: opts.publisher ?? null,
    controlToken: opts.controlToken ?? null,
    dryRun: opts.dryRun ?? null,
  };

  const app = Fastify({
    loggerInstance: log,
    // Health probes and scrapes every few seconds would drown the log; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    schemaErrorFormatter: (errors, dataVar) => new Error(describeValidation(errors, dataVar)),
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err.validation) {
      return reply.code(400).send({ error: 'bad_request', message: err.message });
    }
    const code = err.statusCode ?? 500;
    if (code < 500) return reply.code(code).send({ error: 'bad_request', message: err.message });
    request.log.error({ err, url: request.url }, 'request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error; see the log' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send({ error: 'not_found', message: `no route ${request.method} ${request.url}` }),
  );

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'conform status API',
        version: '1',
        description: 'Read models of the conform event log, its live stream and control requests.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(readRoutes(ctx));
  await app.register(controlRoutes(ctx));
  await app.register(liveRoutes(ctx, streams));
  await app.register(await assetRoutes());
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // Open event streams would hold the server open forever: end this server's own ones.
  app.addHook('onClose', async () => {
    streams.endAll();
    live.close();
  });

  let url: string;
  try {
    url = await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 });
  } catch (err) {
    await app.close().catch(() => undefined);
    throw new StatusListenError(
      `status server cannot listen on ${opts.host ?? '127.0.0.1'}:${opts.port ?? 0}: ${message(err)}`,
      { cause: err },
    );
  }
  log.info({ url }, 'status server listening');
  let closed: Promise<void> | null = null;
  return {
    url,
    close: () =>
      (closed ??= Promise.resolve()
        .then(() => {
          // Before app.close(): it waits for open connections, and streams never end alone.
          streams.endAll();
          live.close();
        })
        .then(() => app.close())
        .then(() => ctx.metrics.clear())),
  };
}

/** "query parameter limit: must be integer", naming the parameter a person has to fix. */
function describeValidation(errors: FastifySchemaValidationError[], dataVar: string): string {
  const where =
    dataVar === 'querystring'
      ? 'query parameter'
      : dataVar === 'params'
        ? 'path parameter'
        : dataVar;
  return errors
    .map((e) => {
      const name = e.instancePath.replace(/^\//, '') || String(e.params.missingProperty ?? '');
      const allowed = Array.isArray(e.params.allowedValues)
        ? ` (${(e.params.allowedValues as unknown[]).join(', ')})`
        : '';
      return `invalid ${where} ${name}: ${e.message ?? 'invalid'}${allowed}`;
    })
    .join('; ');
}
