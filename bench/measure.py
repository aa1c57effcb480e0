"""Run one command; write its wall time and peak resident memory to a file.

    python -I -S bench/measure.py RESULT_FILE COMMAND [ARG ...]

Linux counts in a child's peak memory the peak of the process it was forked from, so the
benchmarks start each command from this small process (standard library only, no site
packages) rather than from bench/run.py, whose own memory would show in every figure.
"""

import os
import sys
import time


def main() -> int:
    result_file, argv = sys.argv[1], sys.argv[2:]
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)  # noqa: S606 (the benchmark commands, no shell on purpose)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    with open(result_file, "w", encoding="ascii") as handle:
        handle.write(f"{seconds} {usage.ru_maxrss}\n")
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
