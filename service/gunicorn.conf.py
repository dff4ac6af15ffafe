"""gunicorn settings for `reviewqa serve` (bind and workers come from the command line / settings).

The app is built once in the master (model and index loaded), then workers are forked from it. Each model
call sets torch to `query_threads` (REVIEWQA_QUERY_THREADS, default 1) threads: with one worker per core,
more threads only fight over the cores.
"""

import os

# gthread, except that each request is read whole, without blocking, in the worker's event loop before a
# thread answers it, under a deadline (request_read_timeout_s): slow clients cannot hold the threads
# (src/reviewqa/service/worker.py; docs/operations.md, "Slow clients").
worker_class = "reviewqa.service.worker.BufferingWorker"
# Threads overlap request I/O and JSON work; the model's matrix work releases the GIL. The threads of a
# worker that ask for query vectors at the same time share one model call (QueryBatcher), so more threads
# make bigger, cheaper batches: with 16 concurrent new questions, 2 workers x 8 threads used ~12 ms
# of server CPU per answer, against ~13.5 ms for 2 x 4 and ~17 ms for 2 x 4 unbatched (docs/benchmarks.md,
# "Load").
threads = int(os.environ.get("REVIEWQA_GUNICORN_THREADS", "8"))
preload_app = True
timeout = 60
graceful_timeout = 20
keepalive = 5
backlog = 512
# Access logs cost CPU on every request; turn them on with GUNICORN_ACCESSLOG=- when needed.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# Trust X-Forwarded-* only from a reverse proxy on this host (see service/README.md).
forwarded_allow_ips = "127.0.0.1"
# No runtime-management socket: nothing needs it, and two services on one host would share its path.
control_socket_disable = True

# GET /api/v1/search takes q of up to 1000 characters, which percent-encoding triples per UTF-8 byte: 1000
# two-byte characters ("é") make a request line of ~6 KB, over gunicorn's default 4094 bytes, which
# answers with an HTML 414 page. 8190 is the most gunicorn allows short of no limit at all (0), which
# would let one request line fill a worker's memory; it holds 1000 characters of any script up to
# U+07FF (Latin, Greek, Cyrillic, Hebrew, Arabic), about 670 of three-byte ones (CJK).
limit_request_line = 8190
