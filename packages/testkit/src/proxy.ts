/**
 * A loopback TCP proxy in front of a database server, for tests of what the
 * network does to waffle: a server that goes away (connections reset, or
 * refused, or never answered) and comes back, and a connection cut right after
 * the client sent a chosen message (a COMMIT whose reply never arrives).
 */

import { createServer, type Server, Socket } from 'node:net';

/** How a proxy that is {@link TcpProxy.down} treats connections. */
export type DownMode =
  /** New connections are refused (nothing listens): a stopped server. */
  | 'refuse'
  /** New connections are accepted and reset at once: a server restarting. */
  | 'reset'
  /** New connections are accepted and never answered: a network partition (clients time out). */
  | 'blackhole';

/** One relayed connection: the client's socket and the server's. */
interface Pair {
  readonly client: Socket;
  readonly server: Socket | undefined;
}

/**
 * A TCP proxy on 127.0.0.1 (a free port) relaying to `host:port`. Drivers
 * connect to {@link TcpProxy.port} instead of the server's.
 */
export class TcpProxy {
  /** The port clients connect to. */
  readonly port: number;
  /** Connections accepted so far (also those reset or held while down). */
  accepted = 0;
  /** Connections cut by {@link TcpProxy.cutAfter}. */
  cuts = 0;
  #listener: Server;
  readonly #pairs = new Set<Pair>();
  readonly #held = new Set<Socket>();
  #down: DownMode | undefined;
  #cut: { match: (chunk: Buffer) => boolean; times: number } | undefined;

  private constructor(
    private readonly target: { readonly host: string; readonly port: number },
    listener: Server,
    port: number,
  ) {
    this.#listener = listener;
    this.port = port;
  }

  /** Starts a proxy to `target` on a free loopback port. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const listener = createServer();
    await listen(listener, 0);
    const proxy = new TcpProxy(target, listener, (listener.address() as { port: number }).port);
    proxy.#serve(listener);
    return proxy;
  }

  /** `url` with its host and port replaced by the proxy's (`postgres://u@127.0.0.1:<port>/db`). */
  url(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString();
  }

  /** Open relayed connections. */
  get connections(): number {
    return this.#pairs.size;
  }

  /** Cuts every open connection, and treats new ones as `mode` says until {@link TcpProxy.up}. */
  async down(mode: DownMode = 'reset'): Promise<void> {
    this.#down = mode;
    for (const pair of this.#pairs) destroy(pair);
    this.#pairs.clear();
    if (mode === 'refuse' && this.#listener.listening) {
      await new Promise<void>((resolve) => this.#listener.close(() => resolve()));
    }
  }

  /** Relays again (listening again on the same port after `refuse`); held connections are reset. */
  async up(): Promise<void> {
    const wasRefusing = this.#down === 'refuse';
    this.#down = undefined;
    for (const socket of this.#held) socket.destroy();
    this.#held.clear();
    if (wasRefusing && !this.#listener.listening) {
      const listener = createServer();
      await listen(listener, this.port);
      this.#listener = listener;
      this.#serve(listener);
    }
  }

  /**
   * Cuts a connection right after relaying a client chunk that `match`
   * accepts (the server gets it; its reply never reaches the client), `times`
   * times (default once); then relays normally again.
   */
  cutAfter(match: (chunk: Buffer) => boolean, times = 1): void {
    this.#cut = { match, times };
  }

  /** Stops cutting. */
  stopCutting(): void {
    this.#cut = undefined;
  }

  /** Closes the proxy and every connection. */
  async close(): Promise<void> {
    for (const pair of this.#pairs) destroy(pair);
    this.#pairs.clear();
    for (const socket of this.#held) socket.destroy();
    this.#held.clear();
    if (this.#listener.listening) await new Promise<void>((resolve) => this.#listener.close(() => resolve()));
  }

  #serve(listener: Server): void {
    listener.on('connection', (client) => this.#accept(client));
  }

  #accept(client: Socket): void {
    this.accepted++;
    client.on('error', () => {});
    if (this.#down === 'reset' || this.#down === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    if (this.#down === 'blackhole') {
      this.#held.add(client);
      client.on('close', () => this.#held.delete(client));
      return;
    }
    client.pause();
    const server = new Socket();
    const pair: Pair = { client, server };
    this.#pairs.add(pair);
    server.on('error', () => destroy(pair));
    client.on('close', () => {
      this.#pairs.delete(pair);
      server.destroy();
    });
    server.on('close', () => {
      this.#pairs.delete(pair);
      client.destroy();
    });
    server.connect(this.target.port, this.target.host, () => {
      server.pipe(client);
      client.on('data', (chunk: Buffer) => {
        const cut = this.#cut;
        const hit = cut !== undefined && cut.times > 0 && cut.match(chunk);
        if (!hit) {
          server.write(chunk);
          return;
        }
        cut.times--;
        if (cut.times === 0) this.#cut = undefined;
        this.cuts++;
        // The server gets the message; the client never hears back.
        server.unpipe(client);
        client.resetAndDestroy();
        server.end(chunk);
      });
      client.resume();
    });
  }
}

function destroy(pair: Pair): void {
  pair.client.resetAndDestroy();
  pair.server?.destroy();
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** A client chunk that carries a `COMMIT` statement (PostgreSQL or MySQL protocol, any case). */
export function carriesCommit(chunk: Buffer): boolean {
  return /\bcommit\b/i.test(chunk.toString('latin1'));
}
