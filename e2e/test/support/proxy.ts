import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a database server, to take the server "down" for a
 * client and bring it back on the same port: `stop()` refuses new connections
 * and cuts the open ones, as a crashed or unreachable server would.
 */
export class TcpProxy {
  #server: Server | undefined;
  #sockets = new Set<Socket>();
  #port = 0;

  constructor(
    private readonly host: string,
    private readonly targetPort: number,
  ) {}

  /** The port clients connect to (fixed after the first start). */
  get port(): number {
    return this.#port;
  }

  /** Starts listening (on the same port as before, after a stop). */
  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection({ host: this.host, port: this.targetPort });
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  /** Refuses new connections and cuts every open one. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
