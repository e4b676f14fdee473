"""Red-team leak app (a): a WSGI-style service.

Requests go through a middleware chain into route handlers. Leaks:
  1. the recording middleware appends one RequestRecord per request to a
     list hanging off the app object in a module global:
     redteam_wsgi.app.server.handlers
  2. a defaultdict keyed by the (unique) request id header:
     redteam_wsgi.SEEN_CLIENTS (values: lists)
Bounded: an OrderedDict LRU of 500 rendered pages with steady turnover
(redteam_wsgi.PAGE_LRU); heavy JSON churn on every request.
Imported by its module name (as a WSGI server imports its app).
"""
import collections
import json
import os
import random
import sys
import time

if __name__ != "__main__":
    import redteam_common


class RequestRecord(object):
    def __init__(self, method, path, started):
        self.method = method
        self.path = path
        self.started = started
        self.status = None


class Server(object):
    def __init__(self, name):
        self.name = name
        self.handlers = []          # leak 1


class App(object):
    def __init__(self):
        self.server = Server("api")
        self.routes = {"/users": users_view, "/items": items_view, "/search": search_view}

    def __call__(self, environ, start_response):
        view = self.routes.get(environ["PATH_INFO"], not_found)
        return view(environ, start_response)


SEEN_CLIENTS = collections.defaultdict(list)    # leak 2
PAGE_LRU = collections.OrderedDict()            # bounded LRU
PAGE_LRU_MAX = 500


def render(key):
    if key in PAGE_LRU:
        PAGE_LRU.move_to_end(key)
        return PAGE_LRU[key]
    page = json.dumps({"key": key, "rows": [[key, j, "r%d" % j] for j in range(12)]})
    PAGE_LRU[key] = page
    if len(PAGE_LRU) > PAGE_LRU_MAX:
        PAGE_LRU.popitem(last=False)
    return page


def users_view(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [render(random.randrange(40000)).encode() for _ in range(3)]


def items_view(environ, start_response):
    doc = {"items": [{"id": j, "name": "item%d" % j, "price": j * 1.25} for j in range(30)]}
    body = json.dumps(doc)
    json.loads(body)
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body.encode()]


def search_view(environ, start_response):
    q = json.loads(environ["wsgi.input"])
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"q": q, "hits": [render(h) for h in range(q["n"] % 7)]}).encode()]


def not_found(environ, start_response):
    start_response("404 Not Found", [])
    return [b""]


def recording_middleware(inner):
    def middleware(environ, start_response):
        app.server.handlers.append(RequestRecord(environ["REQUEST_METHOD"], environ["PATH_INFO"], time.time()))  # LEAK-RECORDS
        rec = app.server.handlers[-1]

        def recording_start(status, headers):
            rec.status = status
            return start_response(status, headers)
        return inner(environ, recording_start)
    return middleware


def client_middleware(inner):
    def middleware(environ, start_response):
        SEEN_CLIENTS[environ["HTTP_X_REQUEST_ID"]].append(environ["PATH_INFO"])  # LEAK-CLIENTS
        return inner(environ, start_response)
    return middleware


app = App()
wsgi = recording_middleware(client_middleware(app))
PATHS = ["/users", "/items", "/search", "/missing"]


def request(i):
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": PATHS[i % 4],
               "HTTP_X_REQUEST_ID": "%016x" % (i * 2654435761 % (1 << 64)),
               "wsgi.input": json.dumps({"n": i, "filters": ["a", "b"]})}
    status = []
    body = b"".join(wsgi(environ, lambda s, h: status.append(s)))
    return len(body)


def describe():
    return {"leaks": [redteam_common.holder("redteam_wsgi.app.server.handlers",
                                            app.server.handlers, "RequestRecord",
                                            "LEAK-RECORDS"),
                      redteam_common.holder("redteam_wsgi.SEEN_CLIENTS", SEEN_CLIENTS, "list",
                                            "LEAK-CLIENTS")],
            "bounded": [redteam_common.holder("redteam_wsgi.PAGE_LRU", PAGE_LRU, "str", None)]}


def main():
    redteam_common.Loop(200, describe).run(request)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import redteam_wsgi
    redteam_wsgi.main()
