"""The registry fault run: what the model repository guarantees, tried the hard way.

1. a save SIGKILLed before each of its durable steps in turn (every blob fsync, rename, folder
   fsync, and every blob check inside the open transaction);
2. a process saving in a loop, SIGKILLed `--kills` times (default 30) at random moments;
3. `--savers` processes saving one name at once while a gc loop runs, savers SIGKILLed at random
   and restarted;
4. a small file system (a 2 MiB tmpfs where the machine lets root mount one, else an ext4
   image) filled with versions until a save fails, then every kind of write tried on the full
   disk, and concurrent savers on it; reads in fresh processes (`m models ls/show/verify`,
   `load`); more room, and saves go on with the next number;
5. a repository closed cleanly whose disk something else then filled: no `-shm` can be made;
6. the same repository's file system remounted read-only.

After every fault every visible version is loaded and compared with a fresh model of its
recorded seed, and every failed write is checked to have left the repository unchanged
(versions, files, digests, aliases, alias history, blobs, temporary files).  The checks live in
tests/registry/faults.py, which the test suite runs at smaller sizes.

    sudo python bench/registry_faults.py            # ~1-2 min on 2 cores
    python bench/registry_faults.py --kills 60 --savers 6

Prints the figures and writes bench/results/registry_faults.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "registry"))
sys.path.insert(0, str(ROOT / "tests"))  # services.py, which faults.py uses
RESULTS = ROOT / "bench" / "results" / "registry_faults.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=30, help="random SIGKILLs of a saving loop")
    parser.add_argument("--savers", type=int, default=4, help="concurrent savers")
    parser.add_argument("--concurrent-kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import faults  # tests/registry/faults.py: imports torch and the registry

    figures: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                                f"Python {platform.python_version()}",
                     "root": os.geteuid() == 0}
    with tempfile.TemporaryDirectory(prefix="m-registry-faults-") as work:
        work = Path(work)
        parts = {
            "step_kills": lambda: faults.step_kills(work / "steps"),
            "random_kills": lambda: faults.random_kills(work / "random", args.kills,
                                                        seed=args.seed),
            "concurrent_kills": lambda: faults.concurrent_kills(
                work / "concurrent", savers=args.savers, kills=args.concurrent_kills,
                seed=args.seed),
            "full_disk": lambda: faults.full_disk(work / "full"),
            "filled_by_another": lambda: faults.filled_by_another(work / "filled"),
            "read_only": lambda: faults.read_only(work / "ro"),
        }
        for name, run in parts.items():
            start = time.perf_counter()
            try:
                result = run()
            except faults.Unavailable as reason:
                result = {"skipped": str(reason)}
            result["wall_s"] = round(time.perf_counter() - start, 1)
            figures[name] = result
            print(f"{name}: {json.dumps(result, indent=2)}", flush=True)
    kills = sum(figures[p].get("kills", 0) for p in ("step_kills", "random_kills",
                                                      "concurrent_kills"))
    figures["sigkills_in_all"] = kills
    print(f"SIGKILLs in all: {kills}; no partial version, no lost or repeated number, "
          "every failed write left the repository unchanged")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
