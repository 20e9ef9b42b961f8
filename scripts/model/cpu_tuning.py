"""CPU settings for the model scripts; import this module before NumPy and PyTorch.

Debian's PyTorch (1.13) does its matrix products in OpenBLAS, whose own thread pool
ignores torch.set_num_threads: on this 2-core machine one OpenBLAS thread spun in
sched_yield between the trainer's calls and kept the second core ~100 % busy (measured:
69 s of system time in 100 s), so a second process (another run, a test, the scene
worker) got half a core. And glibc returns the decoder's large activations (> 32 MB at
the 64 x 64 grid) to the kernel after each use and faults them back in: 30 s of a 64 s
collection run were system time. configure() caps OpenBLAS at the trainer's thread count
(environment, read when OpenBLAS loads) and keeps freed memory in the process (mallopt).
An OPENBLAS_NUM_THREADS set by the caller wins.
"""
import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4


def threads_from_argv(argv=None, default: int = 1) -> int:
    """The value of --threads N / --threads=N in argv (before argparse runs), else default."""
    argv = sys.argv[1:] if argv is None else argv
    for i, a in enumerate(argv):
        try:
            if a == "--threads" and i + 1 < len(argv):
                return max(1, int(argv[i + 1]))
            if a.startswith("--threads="):
                return max(1, int(a.split("=", 1)[1]))
        except ValueError:
            break  # argparse reports it
    return default


def configure(threads: int) -> None:
    if "numpy" in sys.modules or "torch" in sys.modules:
        print("cpu_tuning: imported after NumPy/PyTorch, OpenBLAS threads not capped", file=sys.stderr)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(threads))  # child processes inherit it
    keep_freed_memory()


def keep_freed_memory() -> None:
    """glibc: large blocks from the heap, and not handed back to the kernel after each step."""
    name = ctypes.util.find_library("c")
    if not name or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt(M_MMAP_MAX, 0)
        libc.mallopt(M_TRIM_THRESHOLD, ctypes.c_int(2**31 - 1))
    except (OSError, AttributeError):
        pass  # not glibc: defaults
