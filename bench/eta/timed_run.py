#!/usr/bin/env python3
"""timed_run.py LOG CMD...: runs CMD, writing each line of its stderr to LOG
prefixed with the seconds since the start at which it arrived (the log's own
timestamps have 1-second steps, too coarse for sweeps of seconds). Prints the
total wall time on stdout."""
import subprocess
import sys
import time

log_path, command = sys.argv[1], sys.argv[2:]
start = time.monotonic()
with open(log_path, "w") as log:
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, bufsize=1)
    for line in process.stderr:
        log.write(f"{time.monotonic() - start:.3f}\t{line}")
    process.wait()
print(f"{time.monotonic() - start:.3f}")
