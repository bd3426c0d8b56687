"""Where the quickstart fine-tune's peak memory goes: the fine-tune alone, in one process, with
one allocator or batching setting changed.

The quickstart's job (`TextClassifier` on MiniLM-L6, its 1,000 training reviews, lr 1e-4, batch
16, 1 epoch, seed 7), then the held-out accuracy.  Prints the process's peak RSS (ru_maxrss: the
fine-tune is the peak), the training seconds and CPU seconds.  Each setting is one process; run
them one after the other and compare the peak (steady) and the time (noisy: compare runs made
side by side).  On glibc, per optimizer step with `--steps-log`: the heap's size, in use and free
(mallinfo2) and the batch's shape.

    python bench/finetune_memory.py                          # as M runs it
    python bench/finetune_memory.py --pad-multiple 1         # batches padded to their longest only
    python bench/finetune_memory.py --mmap-threshold 4194304 # glibc: blocks >= 4 MB from mmap
    python bench/finetune_memory.py --trim-every 1           # glibc: malloc_trim after every step

Figures: docs/training.md (*Against the Hugging Face Trainer*).
"""
from __future__ import annotations

import argparse
import ctypes
import os
import resource
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
M_MMAP_THRESHOLD = -3  # mallopt parameter (malloc.h)


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pad-multiple", type=int, help="pad cached-token batches to a multiple of this")
    parser.add_argument("--mmap-threshold", type=int, help="glibc: mallopt(M_MMAP_THRESHOLD, BYTES)")
    parser.add_argument("--trim-every", type=int, help="glibc: malloc_trim(0) after every N steps")
    parser.add_argument("--steps-log", help="glibc: write heap figures per step to this file")
    args = parser.parse_args()
    libc = ctypes.CDLL(None) if os.confstr("CS_GNU_LIBC_VERSION") else None
    if (args.mmap_threshold or args.trim_every or args.steps_log) and libc is None:
        raise SystemExit("--mmap-threshold, --trim-every and --steps-log need glibc")
    if args.mmap_threshold:
        libc.mallopt(M_MMAP_THRESHOLD, args.mmap_threshold)

    import mlang.data.batching as batching
    import mlang.train.finetune as finetune
    from mlang.data import Dataset, split
    from mlang.models.stdlib import TextClassifier
    from mlang.train import evaluate, fine_tune_model, seeding

    if args.pad_multiple:
        batching.PAD_MULTIPLE = args.pad_multiple
    if args.trim_every or args.steps_log:
        libc.mallinfo2.restype = MallInfo2
        log = open(args.steps_log, "w") if args.steps_log else None
        step_once, steps = finetune._optimizer_step, [0]

        def optimizer_step(*arguments, **options):
            step_once(*arguments, **options)
            steps[0] += 1
            if args.trim_every and steps[0] % args.trim_every == 0:
                libc.malloc_trim(0)
            if log:
                info = libc.mallinfo2()
                print(f"step {steps[0]} peak_rss_mb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} "
                      f"heap_mb {info.arena >> 20} in_use_mb {info.uordblks >> 20} free_mb {info.fordblks >> 20} "
                      f"mapped_mb {info.hblkhd >> 20}", file=log, flush=True)

        finetune._optimizer_step = optimizer_step

    reviews = Dataset.rdataset("modeldata", "training_data", text="review", label="score")
    held_out = Dataset.rdataset("modeldata", "testing_data", text="review", label="score")
    train, _ = split(reviews, 0.25, seed=7, stratify=True)  # the quickstart's 1,000 reviews
    seeding.seed_everything(7)
    model = TextClassifier(num_labels=2, max_length=128)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started, cpu = time.perf_counter(), sum(os.times()[:2])
    fine_tune_model(model, train, epochs=1, lr=1e-4, batch_size=16, seed=7, progress=False)
    seconds, cpu = time.perf_counter() - started, sum(os.times()[:2]) - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = evaluate(model, held_out, metrics=["accuracy", "f1_macro"])
    print(f"peak RSS {peak:.0f} MB (before training {before:.0f} MB), training {seconds:.1f} s, "
          f"CPU {cpu:.1f} s, accuracy {report['accuracy']:.3f}, macro F1 {report['f1_macro']:.3f}")


if __name__ == "__main__":
    main()
