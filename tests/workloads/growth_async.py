"""Growth sites written from an event loop (tests/integration/test_growth.py).

usage: growth_async.py STATE_FILE [RATE]

An asyncio service whose tasks wait on a future that is never resolved:
NEVER, a module global. Each waiting task adds its wakeup callback to NEVER's
callbacks list from C (the task's step, Modules/_asynciomodule.c), so the only
application frame at that write is the entry line (asyncio.run(main())); the
line that grows the leak is where the task waits, `await NEVER` in wait_for_it
(awaited by handle: a chain of two coroutines). Nothing else keeps the tasks.
A loop run by a thread of the standard library (threading.Thread(target=
loop.run_forever)) has tasks waiting on NEVER_T, started with
run_coroutine_threadsafe: no application frame at all is on that thread's
stack; their line is the `await NEVER_T` in wait_in_thread.
RESULTS grows by pool.submit(RESULTS.append, n) on a ThreadPoolExecutor: the
write is in a worker thread below _WorkItem.run with no application frame and
no task: no site either.
A fourth leak, CALLS, grows by loop.call_soon(CALLS.append, n): list.append runs
from Handle._run with no task behind it, so it has no site (the line that
scheduled it is not on any stack at the write).

Prints ``ready <pid>``, starts RATE tasks a second (default 50) and writes
STATE_FILE (JSON) once: {"file": this file, "line": the `await NEVER` line,
"entry": the asyncio.run line,
"thread_line": the `await NEVER_T` line}, found from inside the target in its own source.
"""
import asyncio
import concurrent.futures
import json
import os
import sys
import threading

NEVER = None
NEVER_T = None
CALLS = []
RESULTS = []


async def wait_for_it(n):
    await NEVER  # AWAITS-NEVER
    return n


async def handle(n):
    return await wait_for_it(n)


async def wait_in_thread(n):
    await NEVER_T  # AWAITS-THREAD
    return n


async def make_never_t():
    global NEVER_T
    NEVER_T = asyncio.get_running_loop().create_future()


def start_thread_loop():
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    asyncio.run_coroutine_threadsafe(make_never_t(), loop).result()
    return loop


def lines():
    me = os.path.abspath(__file__)
    out = {}
    with open(me) as f:
        for n, text in enumerate(f, 1):
            for mark in ("AWAITS-NEVER", "AWAITS-THREAD", "ENTRY"):
                if text.rstrip().endswith("# " + mark):
                    out[mark] = n
    return me, out


async def main(state, rate):
    global NEVER
    NEVER = asyncio.get_running_loop().create_future()
    other = start_thread_loop()
    pool = concurrent.futures.ThreadPoolExecutor(1)
    me, where = lines()
    with open(state + ".tmp", "w") as f:
        json.dump({"file": me, "pid": os.getpid(), "line": where["AWAITS-NEVER"],
                   "entry": where["ENTRY"], "thread_line": where["AWAITS-THREAD"]}, f)
    os.replace(state + ".tmp", state)
    print("ready %d" % os.getpid(), flush=True)
    n = 0
    while True:
        for _ in range(5):
            asyncio.get_running_loop().create_task(handle(n))
            asyncio.get_running_loop().call_soon(CALLS.append, n)
            asyncio.run_coroutine_threadsafe(wait_in_thread(n), other)
            pool.submit(RESULTS.append, n)
            n += 1
        await asyncio.sleep(5.0 / rate)


asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 50))  # ENTRY
