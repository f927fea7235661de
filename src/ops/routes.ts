import type { ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import type { Services } from '../services.js';
import type { Drain } from './drain.js';
import { checkReadiness } from './readiness.js';

/** `/ready` and `/metrics`; returns false for any other path. */
export function serveOpsRoute(path: string | undefined, res: ServerResponse, services: Services, drain: Drain, log: Logger): boolean {
  if (path === '/ready') {
    if (drain.stopping) {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"stopping"}');
      return true;
    }
    void checkReadiness(services.database).then(
      (readiness) => {
        res.writeHead(readiness.ready ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: readiness.ready ? 'ready' : 'not ready', ...readiness }));
      },
      (err: unknown) => {
        log.error({ err }, 'readiness check failed');
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"not ready"}');
      },
    );
    return true;
  }
  if (path === '/metrics') {
    void services.metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': services.metrics.registry.contentType }).end(text),
      (err: unknown) => {
        log.error({ err }, 'metrics collection failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed');
      },
    );
    return true;
  }
  return false;
}
