"""The small store the training tests train on, and one torch thread for the modules that ask for it."""

import pytest
import torch

from posekit.sample import ACTIONS, IMAGE_SIZE, make_sample, sample_split
from posekit.store import Clip, StoreWriter


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    """24 two-second COCO-17 clips of 4 actions, in the sample's train and test splits."""
    path = tmp_path_factory.mktemp("store") / "sample.h5"
    with StoreWriter(path, "coco-17", coord_dims=2, classes=list(ACTIONS)) as w:
        for clip_id, label, kp, sc in make_sample(6):
            w.add(
                Clip(
                    id=clip_id,
                    keypoints=kp[:24],
                    scores=sc[:24],
                    label=label,
                    fps=30.0,
                    image_size=IMAGE_SIZE,
                    splits=(sample_split(clip_id),),
                )
            )
    return path


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for the module (restored after): small batches on a shared 2-core machine run several
    times faster on one thread than on two fighting other jobs. Use with pytestmark = usefixtures("one_thread")."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
