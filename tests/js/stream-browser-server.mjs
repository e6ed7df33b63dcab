// Same-origin front for the Chromium NotificationStream tests: serves pkg/ and a test page, and
// proxies /events to the real SSE server (sse-server.mjs), byte for byte and without buffering,
// so the page needs no CORS and the SSE server's fault injection reaches the browser as is.
//
// The proxy mirrors both directions of a connection's end: when the SSE server cuts a response
// mid-event, the browser's connection is cut too (after the bytes already received were
// flushed); when the browser goes away (close(), an abort), the upstream request is destroyed,
// so the SSE server logs the connection as ended by the client.

import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';

const PKG = new URL('../../pkg/', import.meta.url);
const PAGE_SCRIPT = new URL('./stream-browser-page.mjs', import.meta.url);
const TYPES = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.ts': 'text/plain; charset=utf-8',
};
// Hop-by-hop headers are the proxy's own business (RFC 9110 §7.6.1).
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>edgesaga NotificationStream</title>
<link rel="icon" href="data:,">
<style>
  body { font: 13px/1.4 system-ui, sans-serif; margin: 16px; }
  table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 2px 6px; }
  .dead { color: #a00; }
</style>
</head>
<body>
<h1>NotificationStream in Chromium</h1>
<p id="status">loading…</p>
<div id="runs"></div>
<script type="module" src="/page.mjs"></script>
</body>
</html>`;

const hopless = (headers) => Object.fromEntries(Object.entries(headers).filter(([k]) => !HOP.has(k.toLowerCase())));

/**
 * Starts the front server on 127.0.0.1 (any free port). `upstream` is the SSE server's origin.
 * Returns `{ origin, proxied, staticRequests, setStaticBody(text), close() }`; `proxied` lists
 * every /events request it forwarded.
 */
export async function startBrowserFront({ upstream }) {
  const proxied = [];
  // GET /static-events answers this fixed SSE body and then stays open (no reconnect, no
  // replay): for wire details the SSE server does not produce, e.g. events without an `id:`.
  let staticBody = '';
  const staticRequests = [];
  const sockets = new Set();
  const upstreams = new Set();

  function proxy(req, res) {
    const target = new URL(req.url, upstream);
    const entry = { url: req.url, status: null, cut: false, clientGone: false };
    proxied.push(entry);
    const up = http.request(target, { method: req.method, headers: { ...hopless(req.headers), host: target.host } });
    upstreams.add(up);
    up.on('close', () => upstreams.delete(up));
    req.pipe(up);
    up.on('response', (upRes) => {
      entry.status = upRes.statusCode;
      res.writeHead(upRes.statusCode, hopless(upRes.headers));
      res.flushHeaders();
      res.socket?.setNoDelay(true);
      // Forward every chunk as it comes: no pipe() high-water-mark games, no buffering.
      upRes.on('data', (chunk) => {
        if (!res.write(chunk)) {
          upRes.pause();
          res.once('drain', () => upRes.resume());
        }
      });
      upRes.on('end', () => res.end());
      upRes.on('close', () => {
        if (upRes.complete || res.destroyed) return;
        // Upstream was cut mid-response: cut the browser's response the same way, once what
        // it already sent has reached the socket (destroying at once would drop it).
        entry.cut = true;
        if (res.writableEnded) return void res.destroy();
        res.write('', () => res.destroy());
        setTimeout(() => res.destroy(), 200).unref();
      });
    });
    up.on('error', () => res.destroy());
    res.on('close', () => {
      if (!res.writableFinished) {
        entry.clientGone = !entry.cut;
        up.destroy();
      }
    });
  }

  async function serveFile(res, url) {
    try {
      const body = await readFile(url);
      res.writeHead(200, { 'content-type': TYPES[extname(url.pathname)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  }

  const server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url, 'http://localhost');
    if (pathname === '/events') return proxy(req, res);
    if (pathname === '/static-events') {
      staticRequests.push({ lastEventId: req.headers['last-event-id'] ?? null });
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      return void res.write(staticBody);
    }
    if (req.method !== 'GET') return void res.writeHead(405).end();
    if (pathname === '/' || pathname === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      return void res.end(PAGE);
    }
    if (pathname === '/page.mjs') return void serveFile(res, PAGE_SCRIPT);
    if (pathname.startsWith('/pkg/') && !pathname.includes('..')) {
      return void serveFile(res, new URL(pathname.slice('/pkg/'.length), PKG));
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });

  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    proxied,
    staticRequests,
    setStaticBody(text) {
      staticBody = text;
      staticRequests.length = 0;
    },
    close() {
      for (const up of upstreams) up.destroy();
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}
