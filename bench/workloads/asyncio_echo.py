"""bench workload: asyncio TCP echo server on 127.0.0.1 with clients in the same process (bounded requests)."""
import asyncio
import os
import signal
import sys
import time

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


# ---- bench protocol (same in every workload) ---------------------------------
def main():
    scale, wait, hold = 1.0, True, False
    argv = sys.argv[1:]
    while argv:
        a = argv.pop(0)
        if a == "--scale":
            scale = float(argv.pop(0))
        elif a == "--no-wait":
            wait = False
        elif a == "--hold":
            hold = True
        else:
            sys.exit("usage: %s [--scale F] [--no-wait] [--hold]" % sys.argv[0])
    sigs = {signal.SIGUSR1}
    signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    state = setup()
    run(state, 0.05)
    print("ready %d" % os.getpid(), flush=True)
    if wait and signal.sigtimedwait(sigs, 600) is None:
        sys.exit("no SIGUSR1 within 600 s")
    t0 = time.perf_counter()
    run(state, scale)
    elapsed = time.perf_counter() - t0
    print("elapsed %.6f" % elapsed, flush=True)
    if hold and signal.sigtimedwait(sigs, 600) is None:
        sys.exit("no second SIGUSR1 within 600 s")


if __name__ == "__main__":
    main()
