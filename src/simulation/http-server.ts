/**
 * What every simulator's HTTP server shares: listening on the loopback interface (port 0 picks a
 * free one), and closing with every connection cut — including sockets a fault is holding open
 * (a "timeout after commit" keeps a socket without answering it).
 */
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** Listens on 127.0.0.1 and answers the base URL and the port. */
export async function listenLocal(server: Server, port: number): Promise<{ url: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${address.port}`, port: address.port };
}

/** Destroys the held sockets (clearing their timers), then closes the server and every open connection. */
export async function closeServer(server: Server, held?: Map<Socket, NodeJS.Timeout>): Promise<void> {
  for (const [socket, timer] of held ?? []) {
    clearTimeout(timer);
    socket.destroy();
  }
  held?.clear();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}
