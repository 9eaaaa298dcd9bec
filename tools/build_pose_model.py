#!/usr/bin/env python3
"""Build ``assets/pose_landmarker_full.task`` reproducibly from the mediapipe 0.10.21 wheel.

mediapipe 1.2.2 ships no pose model and its legacy ``mp.solutions`` API is gone, but the 0.10.21 wheel
(Apache-2.0) holds the BlazePose GHUM detector (``pose_detection.tflite``) and the full landmark model
(``pose_landmark_full.tflite``). The Tasks API reads them from a ``.task`` zip bundle, named
``pose_detector.tflite`` and ``pose_landmarks_detector.tflite``, once each carries image-input
``NormalizationOptions`` metadata:

* detector:       mean 127.5, std 127.5 (input scaled to [-1, 1]); 2 output tensors
* landmark model: mean 0,     std 255   (input scaled to [0, 1]);  5 output tensors

The metadata is written with 0.10.21's own metadata writer, in a throw-away virtual environment, so the
project's environment never holds two mediapipe versions. The zip is written with fixed timestamps, so the
same wheel gives the same bytes (the SHA-256 is printed and recorded in ``assets/README.md``).

Usage::

    python tools/build_pose_model.py [--wheel PATH_TO_mediapipe-0.10.21-*.whl] [--out assets/pose_landmarker_full.task]

Without ``--wheel`` the wheel is fetched from the package registry (pip download, install time only).
"""
from __future__ import annotations

import argparse
import hashlib
import struct
import subprocess
import sys
import tempfile
import venv
import zipfile
from pathlib import Path

MEDIAPIPE_VERSION = "0.10.21"
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "assets" / "pose_landmarker_full.task"
ALIGN = 4096  # page size: the bundle members can be mmapped in place

# (name in the wheel, name in the bundle, norm mean, norm std, number of output tensors, description)
MODELS = [
    ("mediapipe/modules/pose_detection/pose_detection.tflite", "pose_detector.tflite", 127.5, 127.5, 2,
     "BlazePose GHUM person detector (MediaPipe 0.10.21)"),
    ("mediapipe/modules/pose_landmark/pose_landmark_full.tflite", "pose_landmarks_detector.tflite", 0.0, 255.0, 5,
     "BlazePose GHUM full landmark model, 33 landmarks (MediaPipe 0.10.21)"),
]

# Runs inside the throw-away venv that has mediapipe 0.10.21.
_WRITER = r'''
import sys
from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer
src, dst, mean, std, n_out, desc = sys.argv[1:7]
buf = bytearray(open(src, "rb").read())
w = metadata_writer.MetadataWriter.create(buf)
w.add_general_info(model_name=dst.rsplit("/", 1)[-1].replace(".tflite", ""), model_description=desc)
w.add_image_input(norm_mean=[float(mean)], norm_std=[float(std)])
for i in range(int(n_out)):
    w.add_feature_output(name=f"output_{i}")
model, _json = w.populate()
open(dst, "wb").write(model)
'''


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True)


def build(wheel: Path | None, out: Path) -> str:
    with tempfile.TemporaryDirectory(prefix="build_pose_model_") as tmp_s:
        tmp = Path(tmp_s)
        env_dir = tmp / "venv"
        venv.EnvBuilder(with_pip=True).create(env_dir)
        py = str(env_dir / "bin" / "python")
        if wheel is None:
            _run([py, "-m", "pip", "download", "-q", "--no-deps", f"mediapipe=={MEDIAPIPE_VERSION}", "-d", str(tmp)])
            wheel = next(tmp.glob(f"mediapipe-{MEDIAPIPE_VERSION}-*.whl"))
        _run([py, "-m", "pip", "install", "-q", str(wheel)])
        writer = tmp / "writer.py"
        writer.write_text(_WRITER)
        members = []
        with zipfile.ZipFile(wheel) as whl:
            for inner, bundle_name, mean, std, n_out, desc in MODELS:
                raw = tmp / Path(inner).name
                raw.write_bytes(whl.read(inner))
                done = tmp / bundle_name
                _run([py, str(writer), str(raw), str(done), str(mean), str(std), str(n_out), desc])
                members.append((bundle_name, done.read_bytes()))
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_suffix(out.suffix + ".partial")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as z:
            for name, data in members:
                info = zipfile.ZipInfo(name, date_time=(2025, 1, 31, 0, 0, 0))
                info.external_attr = 0o644 << 16
                # Align each member's data (zipalign-style padding in an extra field) so the tflite buffers
                # can be memory-mapped without TFLite copying unaligned tensors to the heap.
                header_end = z.fp.tell() + 30 + len(name.encode()) + 4
                pad = (-header_end) % ALIGN
                info.extra = struct.pack("<HH", 0xD935, pad) + b"\0" * pad
                z.writestr(info, data)
        partial.replace(out)
    return hashlib.sha256(out.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", type=Path, help=f"local mediapipe-{MEDIAPIPE_VERSION} wheel (else pip download)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    digest = build(args.wheel, args.out)
    print(f"wrote {args.out} sha256={digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
