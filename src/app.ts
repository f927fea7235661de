import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createYoga } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { AuthContext } from './auth/credentials.js';
import { operationLimitPlugins, WriteRateLimiter, writeRateLimitPlugin } from './auth/limits.js';
import type { Context } from './graphql/builder.js';
import { maskError } from './graphql/errors.js';
import { schema } from './graphql/index.js';
import { storableTextPlugin } from './graphql/storable-text.js';
import { serveGraphqlWs } from './graphql-ws.js';
import { Drain } from './ops/drain.js';
import { serveOpsRoute } from './ops/routes.js';
import { requestIdOf, requestLogger, runInRequest } from './ops/request-context.js';
import { rejectServerOnlyMessages } from './ops/ws-guard.js';
import type { Services } from './services.js';

export interface App {
  start(port: number, host: string): Promise<{ port: number; url: string }>;
  /**
   * Stops taking work (new requests get 503 SHUTTING_DOWN, `/ready` turns 503), closes WebSockets
   * with 1001 Going Away, and waits up to `drainMs` for in-flight requests before cutting connections.
   */
  stop(options?: { drainMs?: number }): Promise<void>;
}

const GRAPHIQL_EXAMPLE = `# Log an event about a query, then read the query's activity.
# Open a second tab with the subscription below to watch events arrive live.
mutation LogOne {
  log(input: { type: "query-created", message: "Created a query", user: "alice",
               parameters: { query: { type: "query", id: "42", name: "Sales by region" }, rows: 120 } }) {
    recorded
    event { id type occurredAt }
  }
}

query Activity {
  entity(type: "query", id: "42") {
    name
    activity(days: 7) { nodes { type message user occurredAt params } }
    usage(days: 7) { total distinctUsers byType { key count } }
  }
}

subscription Live {
  events { id type message user occurredAt }
}
`;

/** The HTTP server (GraphQL over HTTP, GraphiQL, health) and the graphql-ws server on the same path. */
export function buildApp(services: Services): App {
  const log = services.logger.child({ module: 'http' });
  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    plugins: [
      storableTextPlugin(),
      ...operationLimitPlugins(services.limits),
      writeRateLimitPlugin(new WriteRateLimiter(services.limits.WRITE_RATE_LIMIT, services.limits.WRITE_RATE_BURST)),
    ],
    landingPage: false,
    // The body is bounded before Yoga sees it (refuseLargeBody: a Content-Length is required and
    // checked, so Node reads no more); Yoga's own limit would stream every body through a
    // TransformStream again, about 0.2 ms of CPU per request.
    maxRequestBodySize: false,
    graphiql: {
      subscriptionsProtocol: 'WS',
      title: 'Audit service',
      defaultQuery: GRAPHIQL_EXAMPLE,
      // A template for the Headers tab: the key the first start printed goes here.
      headers: JSON.stringify({ Authorization: 'Bearer <the API key printed at first start>' }, null, 2),
    },
    maskedErrors: { maskError: (error, message) => maskError(error, message, (err) => (requestLogger() ?? log).error({ err }, 'unexpected error')) },
    logging: {
      debug: (...args) => log.debug(args.map(String).join(' ')),
      info: (...args) => log.info(args.map(String).join(' ')),
      warn: (...args) => log.warn(args.map(String).join(' ')),
      error: (...args) => log.error({ err: args.find((a) => a instanceof Error) }, args.map(String).join(' ')),
    },
    // A WebSocket's credential was checked when it opened (and is kept with the socket); HTTP checks each request.
    context: async ({ request, auth }: { request?: Request; auth?: AuthContext }) => ({
      services,
      auth: auth ?? (await services.auth.authenticate(request?.headers)),
    }),
  });

  const drain = new Drain();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (serveOpsRoute(path, res, services, drain, log)) return;
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    if (!drain.admit(req, res)) return;
    if (path === '/' && req.method === 'GET') {
      res.writeHead(302, { location: '/graphql' }).end();
      return;
    }
    const reqLog = log.child({ requestId });
    const started = performance.now();
    res.once('finish', () =>
      reqLog.info({ method: req.method, path, status: res.statusCode, ms: Math.round((performance.now() - started) * 10) / 10 }, 'request'),
    );
    if (refuseLargeBody(req, res, services.limits.MAX_BODY_BYTES)) return;
    runInRequest({ requestId, log: reqLog }, () => void yoga.handle(req, res));
  });

  // A larger message closes the socket with 1009 (message too big).
  const wsServer = new WebSocketServer({ server, path: yoga.graphqlEndpoint, maxPayload: services.limits.MAX_BODY_BYTES });
  rejectServerOnlyMessages(wsServer);
  const graphqlWs = serveGraphqlWs(wsServer, yoga, services);

  return {
    start(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const { port: actual } = server.address() as AddressInfo;
          const shownHost = host.includes(':') ? `[${host}]` : host;
          resolve({ port: actual, url: `http://${shownHost}:${actual}/graphql` });
        });
      });
    },
    async stop({ drainMs = 0 } = {}) {
      if (drain.stopping) return;
      drain.stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // graphql-ws's own dispose: every socket gets 1001 Going Away, which its clients may retry.
      await graphqlWs.dispose();
      server.closeIdleConnections();
      const drained = await drain.waitIdle(drainMs);
      if (!drained) log.warn({ inFlight: drain.active }, 'requests still in flight at the end of the drain; cutting them');
      server.closeAllConnections();
      // Sockets that did not answer the close handshake within a second are cut.
      const wsDeadline = Date.now() + 1000;
      while (wsServer.clients.size > 0 && Date.now() < wsDeadline) await new Promise((r) => setTimeout(r, 20));
      for (const client of wsServer.clients) client.terminate();
      await closed;
    },
  };
}

/**
 * Refuses a request body over the limit before anything reads it: 413 with REQUEST_TOO_LARGE, or
 * 411 for a body of unknown length (chunked), which could not be bounded up front.
 */
function refuseLargeBody(req: IncomingMessage, res: ServerResponse, maxBytes: number): boolean {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return false;
  const length = req.headers['content-length'];
  const [status, code, message] =
    length === undefined
      ? req.headers['transfer-encoding'] ? [411, 'LENGTH_REQUIRED', 'Send a Content-Length with the request body.'] : [0, '', '']
      : Number(length) > maxBytes
        ? [413, 'REQUEST_TOO_LARGE', `The request body is ${length} bytes; the limit is ${maxBytes} (MAX_BODY_BYTES).`]
        : [0, '', ''];
  if (status === 0) return false;
  res.writeHead(status as number, { 'content-type': 'application/json', connection: 'close' }).end(
    JSON.stringify({ errors: [{ message, extensions: { code, limit: maxBytes } }] }),
  );
  req.resume();
  return true;
}
