// The console's production server: Next.js behind a plain Node HTTP server, for one reason.
// The admin API throttles sign-ins per browser address, and Next.js forwards a client-sent
// X-Forwarded-For unchanged, so the console sets x-routerx-client-address itself, from the
// socket, replacing whatever the browser sent; the /api/* rewrite carries it to the admin API,
// which believes it only from a trusted proxy (TRUSTED_PROXIES).
// Listens on 127.0.0.1 unless CONSOLE_HOST or HOST says otherwise; port from CONSOLE_PORT or PORT.
import { createServer } from "node:http";
import next from "next";

const CLIENT_ADDRESS_HEADER = "x-routerx-client-address";
const hostname = process.env.CONSOLE_HOST || process.env.HOST || "127.0.0.1";
const port = Number(process.env.CONSOLE_PORT || process.env.PORT || 3000);

const app = next({ dev: false, dir: import.meta.dirname, hostname, port });
const handle = app.getRequestHandler();
await app.prepare();

createServer((request, response) => {
  request.headers[CLIENT_ADDRESS_HEADER] = request.socket.remoteAddress ?? "";
  handle(request, response);
}).listen(port, hostname, () => {
  console.log(`console listening on http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`);
});
