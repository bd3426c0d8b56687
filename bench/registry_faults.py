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
    python bench/registry_faults.py --remote        # parts 1-3 on PostgreSQL + S3

`--remote` runs the three SIGKILL parts against a shared repository instead: a real PostgreSQL
(`M_REGISTRY`) and a real SeaweedFS S3 gateway (`M_ARTIFACTS=s3://…`), both started by
tests/services.py, a fresh database and key prefix for each part.  Parts 4-6 are about the
local file system under `$M_HOME` and do not apply.

Prints the figures and writes bench/results/registry_faults.json (registry_faults_remote.json).
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
REMOTE_RESULTS = ROOT / "bench" / "results" / "registry_faults_remote.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=30, help="random SIGKILLs of a saving loop")
    parser.add_argument("--savers", type=int, default=4, help="concurrent savers")
    parser.add_argument("--concurrent-kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--remote", action="store_true",
                        help="the SIGKILL parts on PostgreSQL + S3 (started here)")
    args = parser.parse_args()

    import faults  # tests/registry/faults.py: imports torch and the registry

    figures: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                                f"Python {platform.python_version()}",
                     "root": os.geteuid() == 0}
    with tempfile.TemporaryDirectory(prefix="m-registry-faults-") as work:
        work = Path(work)
        parts = {
            "step_kills": lambda: faults.step_kills(work / "steps"),
            # A save to PostgreSQL + S3 takes about a second here: kill within 3 s, not 0.4 s.
            "random_kills": lambda: faults.random_kills(work / "random", args.kills,
                                                        seed=args.seed,
                                                        max_delay_s=3.0 if args.remote else 0.4),
            "concurrent_kills": lambda: faults.concurrent_kills(
                work / "concurrent", savers=args.savers, kills=args.concurrent_kills,
                seed=args.seed),
            "full_disk": lambda: faults.full_disk(work / "full"),
            "filled_by_another": lambda: faults.filled_by_another(work / "filled"),
            "read_only": lambda: faults.read_only(work / "ro"),
        }
        if args.remote:
            import services  # tests/services.py

            with services.postgres_server("m_faults", user="m") as server, \
                    services.seaweedfs_s3("models") as s3_env:
                figures["stores"] = "PostgreSQL (M_REGISTRY) + SeaweedFS S3 (M_ARTIFACTS)"
                for name in ("step_kills", "random_kills", "concurrent_kills"):
                    with faults.remote_stores(services.new_database(server, name), s3_env,
                                              prefix=f"faults/{name}"):
                        figures[name] = _timed(parts[name], faults)
        else:
            for name, run in parts.items():
                figures[name] = _timed(run, faults)
    kills = sum(figures[p].get("kills", 0) for p in ("step_kills", "random_kills",
                                                      "concurrent_kills"))
    figures["sigkills_in_all"] = kills
    print(f"SIGKILLs in all: {kills}; no partial version, no lost or repeated number"
          + ("" if args.remote else ", every failed write left the repository unchanged"))
    results = REMOTE_RESULTS if args.remote else RESULTS
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"wrote {results.relative_to(ROOT)}")


def _timed(run, faults) -> dict:
    start = time.perf_counter()
    try:
        result = run()
    except faults.Unavailable as reason:
        result = {"skipped": str(reason)}
    result["wall_s"] = round(time.perf_counter() - start, 1)
    print(f"{json.dumps(result, indent=2)}", flush=True)
    return result


if __name__ == "__main__":
    main()
