"""Video -> landmark sequence: the pose stage of the pipeline for recorded video."""
from __future__ import annotations

import logging
from pathlib import Path

from coach.pose import PoseEstimator
from coach.types import PoseResult, PoseSequence
from coach.video import VideoFileSource

log = logging.getLogger(__name__)


def extract_landmarks(video: str | Path, pose_model: str | Path | None = None, num_poses: int = 1,
                      progress: bool = False, max_side: int | None = None) -> PoseSequence:
    """Run the pose model over every frame of ``video`` and return the primary person's landmarks."""
    src = VideoFileSource(video, max_side=max_side)
    results: list[PoseResult] = []
    frames = iter(src)
    if progress:
        from tqdm import tqdm

        frames = tqdm(frames, total=len(src) or None, unit="frame", desc=Path(video).name, leave=False)
    with PoseEstimator(pose_model, num_poses=num_poses) as est:
        for fr in frames:
            results.append(est(fr.image, fr.t_s))
    return PoseSequence.from_results(results, src.info.fps, source=str(video),
                                     image_size=(src.info.width, src.info.height))
