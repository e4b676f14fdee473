"""bench workload: asyncio TCP echo server on 127.0.0.1 with clients in the same process (bounded requests)."""
import asyncio

import _protocol  # ready / SIGUSR1 / elapsed, shared by the workloads

ITERATIONS = 48000  # requests in total, spread over CLIENTS connections
CLIENTS = 16


def setup():
    return None


async def handle(reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            writer.write(b"echo " + line)
            await writer.drain()
    finally:
        writer.close()


async def client(port, n, ident):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    got = 0
    for i in range(n):
        msg = ("client %d request %d %s\n" % (ident, i, "x" * (i % 50))).encode()
        writer.write(msg)
        await writer.drain()
        reply = await reader.readline()
        got += len(reply)
    writer.close()
    await writer.wait_closed()
    return got


async def serve(requests):
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    per = max(1, requests // CLIENTS)
    clients = min(CLIENTS, requests)
    results = await asyncio.gather(*[client(port, per, c) for c in range(clients)])
    server.close()
    await server.wait_closed()
    return sum(results)


def run(state, scale):
    return asyncio.run(serve(max(1, int(round(ITERATIONS * scale)))))


if __name__ == "__main__":
    _protocol.main(setup, run)
