"""Frame sources (video file, webcam) with timestamps in float seconds, and the annotated-video writer.

Reading uses OpenCV; writing uses PyAV, because OpenCV's wheels cannot write H.264 and browsers play what
PyAV writes.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

# FFmpeg inside OpenCV logs decoding errors of damaged files from its own threads; the coach reports them itself.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8" if not os.environ.get("COACH_DEBUG") else "24")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from coach._native import quiet_native_stderr
from coach.errors import InputNotFoundError, OutputError, VideoReadError

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp",
                  ".mjpeg", ".mjpg", ".ts"}


@dataclass(frozen=True)
class VideoFrame:
    index: int
    t_s: float
    image: np.ndarray  # RGB uint8 (H, W, 3)


@dataclass(frozen=True)
class VideoInfo:
    path: str
    fps: float
    frame_count: int  # as declared by the container; may be approximate
    width: int
    height: int

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps if self.fps > 0 else 0.0


class VideoFileSource:
    """Frames of a video file, in order, as RGB with timestamps in seconds.

    Raises :class:`VideoReadError` with a message saying what to do when the file is not a readable video,
    has no frames, or ends far earlier than its header says (truncated).
    """

    def __init__(self, path: str | os.PathLike, max_side: int | None = None):
        self.path = Path(path)
        if not self.path.exists():
            raise InputNotFoundError(f"video not found: {self.path} (check the path)")
        if self.path.is_dir():
            raise InputNotFoundError(f"{self.path} is a folder, not a video file (pass a video file)")
        self.max_side = max_side
        with quiet_native_stderr():
            cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise VideoReadError(f"cannot read {self.path} as a video (corrupt, truncated or not a video; "
                                 f"convert it to MP4 and try again)")
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if not np.isfinite(fps) or fps <= 1.0 or fps > 1000.0:
            log.warning("%s declares %.3g fps; assuming 30", self.path, fps)
            fps = 30.0
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        cap.release()
        if w <= 0 or h <= 0:
            raise VideoReadError(f"{self.path} has no video stream (is it an audio file? pass a video)")
        self.info = VideoInfo(str(self.path), fps, max(count, 0), w, h)

    def __len__(self) -> int:
        return self.info.frame_count

    def __iter__(self) -> Iterator[VideoFrame]:
        with quiet_native_stderr():
            cap = cv2.VideoCapture(str(self.path))
        fps = self.info.fps
        n = 0
        last_t = -1.0
        try:
            while True:
                ok, bgr = cap.read()  # FFmpeg's own logging is off (OPENCV_FFMPEG_LOGLEVEL above)
                if not ok or bgr is None:
                    break
                # The container's timestamp of the frame (seconds from the stream's start), as a player shows it.
                # Phones record at a variable frame rate (fewer frames in dim light), so the frame index over the
                # average rate can be seconds off; it only stands in where a timestamp is missing or does not
                # move forward (a stream without timestamps).
                pos = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                if np.isfinite(pos) and pos >= 0.0 and (n == 0 or pos > last_t):
                    t = pos
                else:
                    t = last_t + 1.0 / fps if n else 0.0
                last_t = t
                yield VideoFrame(n, t, self._rgb(bgr))
                n += 1
        finally:
            cap.release()
        if n == 0:
            raise VideoReadError(f"{self.path} has no readable frames (corrupt or empty video; re-export it)")
        # Truncated: fewer frames than declared that also stop short of the declared length. A WebM or MKV
        # declares no frame count (OpenCV estimates it from the duration at the nominal rate), so a variable
        # frame rate one (a browser's recording) has fewer frames than "declared", all of its length.
        declared = self.info.frame_count
        if declared > 10 and n < 0.9 * declared and last_t + 1.0 / fps < 0.9 * self.info.duration_s:
            raise VideoReadError(f"{self.path} ends at {last_t:.1f} s of {self.info.duration_s:.1f} s (the file "
                                 f"is truncated or corrupt; re-export or re-download it)")

    def pick(self, indices) -> Iterator[VideoFrame]:
        """Only the frames at ``indices`` (numbered as iterating the file numbers them), in order: every frame is
        decoded but only these are converted. A second look at a few moments of a video already read (a report's
        pictures of reps). ``t_s`` is the container's timestamp or, where there is none, the index over the rate.
        Stops after the last wanted frame or at the end of the file."""
        wanted = sorted({int(i) for i in indices if int(i) >= 0})
        if not wanted:
            return
        with quiet_native_stderr():
            cap = cv2.VideoCapture(str(self.path))
        try:
            k = 0
            for n in range(wanted[-1] + 1):
                if not cap.grab():
                    break
                if n != wanted[k]:
                    continue
                ok, bgr = cap.retrieve()
                if ok and bgr is not None:
                    pos = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                    t = pos if np.isfinite(pos) and pos >= 0.0 else n / self.info.fps
                    yield VideoFrame(n, t, self._rgb(bgr))
                k += 1
        finally:
            cap.release()

    def _rgb(self, bgr: np.ndarray) -> np.ndarray:
        """A decoded frame as RGB, no longer than ``max_side``."""
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        if self.max_side and max(rgb.shape[:2]) > self.max_side:
            s = self.max_side / max(rgb.shape[:2])
            rgb = cv2.resize(rgb, (round(rgb.shape[1] * s), round(rgb.shape[0] * s)), interpolation=cv2.INTER_AREA)
        return rgb


class CameraSource:
    """Frames from a local webcam (OpenCV index), timestamped with a monotonic clock from the first frame."""

    def __init__(self, index: int = 0, width: int = 640, height: int = 480):
        import time

        self._time = time.monotonic
        self.cap = cv2.VideoCapture(int(index))
        if not self.cap.isOpened():
            raise VideoReadError(f"cannot open camera {index} (is it connected and not used by another app?)")
        self.cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        self.cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        fps = float(self.cap.get(cv2.CAP_PROP_FPS) or 30.0)
        self.info = VideoInfo(f"camera:{index}", fps if fps > 1 else 30.0, 0,
                              int(self.cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                              int(self.cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))

    def __iter__(self) -> Iterator[VideoFrame]:
        t0 = None
        n = 0
        try:
            while True:
                ok, bgr = self.cap.read()
                if not ok:
                    break
                now = self._time()
                t0 = now if t0 is None else t0
                yield VideoFrame(n, now - t0, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
                n += 1
        finally:
            self.cap.release()


def open_source(spec: str | os.PathLike | int, max_side: int | None = None):
    """A video file path, or a webcam index (``0``, ``"0"``, ``"camera:0"``)."""
    s = str(spec)
    if s.startswith("camera:"):
        s = s.split(":", 1)[1]
    if s.isdigit() and not Path(s).exists():
        return CameraSource(int(s))
    return VideoFileSource(spec, max_side=max_side)


# --------------------------------------------------------------------------------------------------------------
# Writing: annotated H.264 MP4 that browsers play
# --------------------------------------------------------------------------------------------------------------

#: H.264 encoders to try, in order of preference. libx264 ships in PyAV's PyPI wheels; the others are what other
#: FFmpeg builds (conda, system, macOS, Windows) may have instead. Hardware encoders are probed by opening them,
#: since FFmpeg lists them even where no such hardware exists.
H264_ENCODERS: tuple[str, ...] = ("libx264", "libopenh264", "h264_videotoolbox", "h264_mf", "h264_nvenc", "h264_qsv",
                                  "h264_amf", "h264_vaapi", "h264_v4l2m2m")
_VIDEO_TIME_BASE = 90000  # ticks per second: the usual video clock; exact for 25, 30, 29.97 (3003 ticks), 60 fps


def _encoder_opens(name: str) -> bool:
    import av
    from fractions import Fraction

    try:
        cc = av.CodecContext.create(name, "w")
        cc.width, cc.height, cc.pix_fmt, cc.time_base = 64, 64, "yuv420p", Fraction(1, 30)
        cc.open()
        return True
    except Exception as e:  # unknown codec, missing hardware, driver errors: all mean "not usable here"
        log.debug("H.264 encoder %s unusable: %s", name, e)
        return False


_ENCODER_CACHE: dict[str, str] = {}


def h264_encoder() -> str:
    """Name of the first H.264 encoder this PyAV build can open (normally ``libx264``).

    Raises :class:`OutputError` saying what to do when there is none.
    """
    if "h264" not in _ENCODER_CACHE:
        for name in H264_ENCODERS:
            if _encoder_opens(name):
                _ENCODER_CACHE["h264"] = name
                break
        else:
            raise OutputError("this PyAV build has no H.264 encoder (tried " + ", ".join(H264_ENCODERS) + "); "
                              "reinstall PyAV from PyPI (`pip install --force-reinstall av`), whose wheels include "
                              "libx264")
        log.info("writing H.264 with %s", _ENCODER_CACHE["h264"])
    return _ENCODER_CACHE["h264"]


class AnnotatedVideoWriter:
    """Write RGB frames to an H.264 MP4 that plays in browsers (yuv420p, even dimensions, ``+faststart``).

    Use as a context manager::

        with AnnotatedVideoWriter("out.mp4", fps=src.info.fps, size=(w, h)) as out:
            for fr in src:
                out.write(draw_skeleton(fr.image, pose), fr.t_s)

    * Frames are RGB ``uint8`` arrays ``(H, W, 3)``. ``size`` is ``(width, height)``; ``None`` takes the size of the
      first frame. Odd sizes lose their last column/row (H.264 4:2:0 needs even dimensions); frames of another
      size are resized to it.
    * Timestamps are float seconds (``t_s``; the frame index / ``fps`` when omitted). They become presentation times
      on a 1/90000 s clock measured from the first frame, so 29.97 fps and variable-rate (phone, webcam) timing
      are kept rather than forced onto a fixed rate; ``fps`` is the nominal rate written in the header. A
      timestamp that does not increase is nudged one tick after the previous frame.
    * The file is written under a temporary name beside ``path`` and renamed when the block ends without an
      exception; on an exception (or with no frame written) nothing is left behind.
    """

    def __init__(self, path: str | os.PathLike, fps: float, size: tuple[int, int] | None = None, *,
                 crf: int = 23, preset: str = "veryfast", codec: str | None = None, threads: int | None = None):
        if not (np.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be positive, got {fps}")
        self.path = Path(path)
        self.fps = float(fps)
        self.size = None if size is None else self._even_size(int(size[0]), int(size[1]))
        self.crf = int(crf)
        self.preset = preset
        self.codec = codec
        self.threads = threads  # encoder threads (None: the encoder's default, one per core and more)
        self.frames_written = 0
        self._container = None
        self._stream = None
        self._atomic = None
        self._tmp: Path | None = None
        self._t0: float | None = None
        self._last_pts = -1
        self._warned_resize = False

    @staticmethod
    def _even_size(w: int, h: int) -> tuple[int, int]:
        if w < 2 or h < 2:
            raise ValueError(f"video size must be at least 2x2, got {w}x{h}")
        return w - (w % 2), h - (h % 2)

    # -- context manager --------------------------------------------------------------------------------------
    def __enter__(self) -> "AnnotatedVideoWriter":
        from coach.io import atomic_path

        if self._atomic is not None:
            raise RuntimeError("AnnotatedVideoWriter is already open")
        self._atomic = atomic_path(self.path)
        self._tmp = self._atomic.__enter__()
        self.frames_written = 0
        self._t0 = None
        self._last_pts = -1
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.close()
        else:
            self._abort(exc_type, exc, tb)
        return False

    def close(self) -> Path:
        """Finish the file and move it to ``path``. Raises :class:`OutputError` when no frame was written."""
        if self._atomic is None:
            return self.path
        try:
            if self.frames_written == 0:
                raise OutputError(f"no frames to write to {self.path} (the input had no readable frames); "
                                  f"check the input video")
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
            self._container = None
        except BaseException as e:
            self._abort(type(e), e, e.__traceback__)
            if isinstance(e, OSError):
                raise OutputError(f"cannot write {self.path} ({e.strerror or e}); check free space and "
                                  f"permissions") from None
            raise
        atomic, self._atomic = self._atomic, None
        atomic.__exit__(None, None, None)
        log.debug("wrote %d frames to %s", self.frames_written, self.path)
        return self.path

    def _abort(self, exc_type, exc, tb) -> None:
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # the file is discarded anyway
                pass
            self._container = None
        if self._atomic is not None:
            atomic, self._atomic = self._atomic, None
            try:
                atomic.__exit__(exc_type, exc, tb)
            except BaseException:  # atomic_path re-raises the exception it was given; the caller raises it
                pass

    # -- writing ----------------------------------------------------------------------------------------------
    def _open(self, width: int, height: int) -> None:
        import av
        from fractions import Fraction

        codec = self.codec or h264_encoder()
        self.size = self._even_size(width, height) if self.size is None else self.size
        try:
            self._container = av.open(str(self._tmp), mode="w", format="mp4", options={"movflags": "+faststart"})
            rate = Fraction(self.fps).limit_denominator(1001)
            stream = self._container.add_stream(codec, rate=rate)
            stream.width, stream.height = self.size
            stream.pix_fmt = "yuv420p"
            # Both clocks at 1/90000 s: the encoder's defaults to 1/fps, which would merge frames of variable-rate
            # input that fall in one 1/fps slot (and the muxer then rejects the non-increasing timestamps).
            stream.time_base = Fraction(1, _VIDEO_TIME_BASE)
            stream.codec_context.time_base = Fraction(1, _VIDEO_TIME_BASE)
            if codec.startswith("libx264"):
                stream.options = {"crf": str(self.crf), "preset": self.preset}
            if self.threads:
                stream.codec_context.thread_count = self.threads
            self._stream = stream
        except OSError as e:
            raise OutputError(f"cannot write {self.path} ({e.strerror or e}); choose a writable folder") from None

    def write(self, image_rgb: np.ndarray, t_s: float | None = None) -> None:
        """Append one RGB uint8 frame shown at ``t_s`` seconds (default: frame index / fps)."""
        import av
        from fractions import Fraction

        if self._atomic is None:
            raise RuntimeError("use AnnotatedVideoWriter as a context manager: `with AnnotatedVideoWriter(...) as w:`")
        img = np.asarray(image_rgb)
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"frames must be RGB arrays (H, W, 3), got shape {img.shape}")
        if img.dtype != np.uint8:
            raise ValueError(f"frames must be uint8, got {img.dtype}")
        if self._container is None:
            self._open(img.shape[1], img.shape[0])
        w, h = self.size
        if img.shape[1] != w or img.shape[0] != h:
            if img.shape[1] - w in (0, 1) and img.shape[0] - h in (0, 1):
                img = img[:h, :w]  # odd size: drop the last column/row
            else:
                if not self._warned_resize:
                    log.warning("frame size %dx%d differs from the video's %dx%d; resizing",
                                img.shape[1], img.shape[0], w, h)
                    self._warned_resize = True
                img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
        t = self.frames_written / self.fps if t_s is None else float(t_s)
        if not np.isfinite(t):
            raise ValueError(f"frame timestamp must be finite, got {t_s}")
        if self._t0 is None:
            self._t0 = t
        pts = int(round((t - self._t0) * _VIDEO_TIME_BASE))
        if pts <= self._last_pts:
            pts = self._last_pts + 1
        self._last_pts = pts
        # RGB -> YUV 4:2:0 with OpenCV (SIMD, and it releases the GIL, unlike the conversion inside the encoder
        # call): the encoder then runs beside the pose model instead of holding it up. BT.601, as swscale's default.
        yuv = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2YUV_I420)
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = pts
        frame.time_base = Fraction(1, _VIDEO_TIME_BASE)
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except OSError as e:
            raise OutputError(f"cannot write {self.path} ({e.strerror or e}); check free space") from None
        self.frames_written += 1
