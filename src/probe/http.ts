/**
 * A minimal /metrics endpoint for Prometheus to scrape. Bound to loopback unless told
 * otherwise: the metrics name the probe's targets and ports, which are nobody else's business.
 */
import http from 'node:http';
import { formatEndpoint } from '../core/address.js';
import { badUsage, StalepinError } from '../core/errors.js';

export interface MetricsServer {
  /** "ip:port" actually bound. */
  address: string;
  port: number;
  close(): Promise<void>;
}

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export async function startMetricsServer(address: string, port: number, render: () => string): Promise<MetricsServer> {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw badUsage(`--metrics-port: not a port number: ${port}`);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('stalepin probe: metrics are at /metrics\n');
      return;
    }
    let body: string;
    try {
      body = render();
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String((e as Error).message) + '\n');
      return;
    }
    res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((e: NodeJS.ErrnoException) => {
    const where = formatEndpoint(address, port);
    if (e.code === 'EADDRINUSE') throw badUsage(`--metrics-port: ${where} is in use (EADDRINUSE)`);
    if (e.code === 'EACCES') throw new StalepinError('permission', `--metrics-port: ${where}: permission denied`);
    throw badUsage(`--metrics-address/--metrics-port: cannot listen on ${where} (${e.code ?? e.message})`);
  });
  const a = server.address();
  const bound = typeof a === 'object' && a ? a.port : port;
  return {
    address: formatEndpoint(address, bound),
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
