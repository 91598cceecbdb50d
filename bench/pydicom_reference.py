"""Times pydicom over the same files as bench/dicom.bench.ts (paths on stdin, JSON on stdout).

header: dcmread(stop_before_pixels=True); decode: dcmread + pixel_array (only files pydicom
decodes with the handlers installed). Same repetitions as the Node side.
"""
import json
import os
import sys
import time
import warnings

import pydicom

warnings.filterwarnings("ignore")
reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
files = [line.strip() for line in sys.stdin if line.strip()]
sizes = {f: os.path.getsize(f) for f in files}


def timed(work, candidates):
    ok = []
    for f in candidates:
        try:
            work(f)
            ok.append(f)
        except Exception:
            pass
    start = time.perf_counter()
    for _ in range(reps):
        for f in ok:
            work(f)
    seconds = time.perf_counter() - start
    return {"files": ok, "seconds": seconds, "reps": reps, "bytes": sum(sizes[f] for f in ok) * reps}


header = timed(lambda f: pydicom.dcmread(f, stop_before_pixels=True, force=True), files)
decode = timed(lambda f: pydicom.dcmread(f, force=True).pixel_array, files)
json.dump({"version": pydicom.__version__, "header": header, "decode": decode}, sys.stdout)
