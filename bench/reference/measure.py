"""Runs a command and writes its wall time, CPU time (user + sys) and peak RSS, for
systems without GNU time (bench/run.sh uses /usr/bin/time when it is there).

    python3 bench/reference/measure.py OUT -- COMMAND [ARGS ...]

OUT gets one line: `wall_seconds user_seconds sys_seconds peak_rss_kib exit_code`, the same
fields `/usr/bin/time -f '%e %U %S %M %x'` writes. The command's output passes through.
"""

import os
import sys
import time

if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__)
    out, command = sys.argv[1], sys.argv[3:]
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in KiB on Linux.
    with open(out, "w") as f:
        f.write(f"{wall:.2f} {usage.ru_utime:.2f} {usage.ru_stime:.2f} {usage.ru_maxrss} {code}\n")
    sys.exit(code if code >= 0 else 1)
