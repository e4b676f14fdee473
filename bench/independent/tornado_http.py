"""independent workload: Tornado (python3-tornado): an HTTPServer and an AsyncHTTPClient in one
process on 127.0.0.1, the handler streaming 5 chunks of 12 KB per request, 150 concurrent requests
per batch. Mirrors pyperformance's `tornado_http` (same design and sizes)."""
import _common

REQUIRES = ["tornado.web", "tornado.httpclient"]
ITERATIONS = 8  # batches of CONCURRENCY requests
CONCURRENCY = 150
CHUNK = b"Hello world\n" * 1000
NCHUNKS = 5


def setup():
    import asyncio
    from tornado.httpclient import AsyncHTTPClient
    from tornado.httpserver import HTTPServer
    from tornado.netutil import bind_sockets
    from tornado.web import Application, RequestHandler

    class MainHandler(RequestHandler):
        async def get(self):
            for _ in range(NCHUNKS):
                self.write(CHUNK)
                await self.flush()

        def compute_etag(self):
            return None  # no hashing of the body: the benchmark is the HTTP stack

    async def main(batches):
        sockets = bind_sockets(0, "127.0.0.1")
        server = HTTPServer(Application([("/", MainHandler)]))
        server.add_sockets(sockets)
        url = "http://127.0.0.1:%d/" % sockets[0].getsockname()[1]
        client = AsyncHTTPClient()
        total = 0
        for _ in range(batches):
            for r in await asyncio.gather(*(client.fetch(url) for _ in range(CONCURRENCY))):
                total += len(r.body)
        client.close()
        server.stop()
        await server.close_all_connections()
        return total

    return asyncio, main


def run(state, scale):
    asyncio, main = state
    return asyncio.run(main(max(1, int(round(ITERATIONS * scale)))))


if __name__ == "__main__":
    _common.main(REQUIRES, setup, run)
