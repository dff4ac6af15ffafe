"""gunicorn settings for `reviewqa serve` (bind and workers come from the command line / settings).

The app is built once in the master (model and index loaded), then workers are forked from it.
"""

import os

worker_class = "gthread"
# Threads overlap request I/O and JSON work; the model's matrix work releases the GIL.
threads = int(os.environ.get("REVIEWQA_GUNICORN_THREADS", "4"))
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


def post_fork(server, worker):
    # One torch thread per worker: with one worker per core, more threads only fight over the 2 cores.
    import torch

    torch.set_num_threads(int(os.environ.get("REVIEWQA_TORCH_THREADS", "1")))
