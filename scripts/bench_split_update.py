"""Whether splitting the elementwise update over two threads pays: Adam's rule (``ElementwiseKernel.apply``) on
the Fashion-MNIST network's 242,762 float32 parameters, whole on this thread, or as two halves on a two-thread
pool (NumPy releases the GIL inside its loops; elementwise, so the same bytes). Every array is allocated once, so
only the arithmetic and the hand-off to the threads are timed (fresh allocations of this size may page-fault
while glibc's malloc adapts its mmap threshold, which would swamp the comparison). Prints the median wall and
CPU microseconds per update of each, interleaved over many short rounds (the machine may be shared).
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import fnn

SIZE = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10
CUTS = (slice(0, SIZE // 2), slice(SIZE // 2, None))


def main(rounds: int = 200, updates: int = 5) -> None:
    kernel = fnn.optim.adam(1e-3).kernel
    rng = np.random.default_rng(0)
    p, m, v, g = (rng.standard_normal(SIZE).astype(np.float32) for _ in range(4))
    v = np.abs(v)
    constants = kernel.constants(3)
    u, new_m, new_v, scratch = (np.empty_like(g) for _ in range(4))

    def apply(cut: slice) -> None:
        np.copyto(u[cut], g[cut])
        kernel.apply(u[cut], [m[cut], v[cut]], p[cut], constants, [new_m[cut], new_v[cut]], scratch[cut])

    def whole() -> None:
        apply(slice(None))

    with ThreadPoolExecutor(2) as pool:

        def split() -> None:
            for half in [pool.submit(apply, cut) for cut in CUTS]:
                half.result()

        whole()
        expected = u.tobytes()
        split()
        assert u.tobytes() == expected
        times: dict[str, list[tuple[float, float]]] = {"whole": [], "split": []}
        for _ in range(rounds):
            for name, run in (("whole", whole), ("split", split)):
                wall, cpu = time.perf_counter(), time.process_time()
                for _ in range(updates):
                    run()
                times[name].append(((time.perf_counter() - wall) / updates * 1e6, (time.process_time() - cpu) / updates * 1e6))
    for name, pairs in times.items():
        print(f"{name}: wall {statistics.median(w for w, _ in pairs):.0f} us, CPU {statistics.median(c for _, c in pairs):.0f} us per update")


if __name__ == "__main__":
    main()
