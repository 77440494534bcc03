import type { FastifyPluginAsync } from 'fastify';
import type { RouteContext } from './context.js';

/** The open event streams of one server: counted for metrics, ended when it closes. */
export class LiveStreams {
  private readonly ends = new Set<() => void>();

  get size(): number {
    return this.ends.size;
  }

  add(end: () => void): () => void {
    this.ends.add(end);
    return () => void this.ends.delete(end);
  }

  endAll(): void {
    for (const end of [...this.ends]) end();
  }
}

/** `GET /api/events`: server-sent events of every published event and encoder progress. */
export function liveRoutes(ctx: RouteContext, streams: LiveStreams): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/api/events',
      {
        schema: {
          tags: ['live'],
          summary: 'server-sent events: `event` (each published event), `progress` (encodes)',
          produces: ['text/event-stream'],
        },
      },
      (request, reply) => {
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-cache',
          connection: 'keep-alive',
        });
        res.write(': connected\n\n');
        const unsubscribe = ctx.live.subscribe((message) => {
          res.write(`event: ${message.kind}\ndata: ${JSON.stringify(message)}\n\n`);
        });
        // Proxies drop idle streams; a comment every 15 s keeps it open.
        const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
        let forget: () => void = () => undefined;
        const end = () => {
          clearInterval(keepAlive);
          unsubscribe();
          forget();
        };
        forget = streams.add(() => {
          end();
          res.end();
        });
        request.raw.on('close', end);
      },
    );
  };
}
