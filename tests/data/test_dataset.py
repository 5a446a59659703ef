"""StoreDataset over small stores: sample values, splits, collation, DataLoader workers (fork and spawn)."""

import multiprocessing
import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from posekit.data import StoreDataset, collate_clips
from posekit.data.transforms import RandomScale
from posekit.sample import write_synthetic_store
from posekit.store import Clip, StoreError, StoreWriter

LENGTHS = (3, 5, 4)


@pytest.fixture
def toy_store(tmp_path):
    """Three clips with known values on the COCO layout: clip k, frame t, person m, joint v = (100k+t, v+m)."""
    path = tmp_path / "toy.h5"
    with StoreWriter(path, layout="coco-17", coord_dims=2, classes=["a", "b"]) as w:
        for k, t in enumerate(LENGTHS):
            kp = np.zeros((t, 2, 17, 2), np.float32)
            kp[..., 0] = 100 * k + np.arange(t)[:, None, None]
            kp[..., 1] = np.arange(17)[None, None, :] + np.arange(2)[None, :, None]
            kp[:, 1, 5] = np.nan  # a missing joint of person 1
            w.add(
                Clip(
                    id=f"c{k}",
                    keypoints=kp,
                    scores=np.full(kp.shape[:3], 0.5),
                    label=k % 2,
                    image_size=(200, 100),
                    splits=("test",) if k == 1 else ("train",),
                )
            )
    return path


@pytest.fixture(scope="module")
def synthetic_store(tmp_path_factory):
    return write_synthetic_store(tmp_path_factory.mktemp("syn") / "syn.h5", 24, seed=3)


def test_sample_is_ctvm_with_nan_as_zero(toy_store):
    ds = StoreDataset(toy_store)
    assert len(ds) == 3
    s = ds[2]
    x = s["keypoints"]
    assert x.dtype == torch.float32 and tuple(x.shape) == (2, 4, 17, 2)  # (C, T, V, M)
    assert x[0, 3, 0, 0] == 203 and x[1, 3, 16, 1] == 17  # x = 100k + t, y = v + m
    assert x[:, 0, 5, 1].tolist() == [0, 0]  # the missing joint
    assert (s["label"], s["index"], s["id"], s["length"]) == (0, 2, "c2", 4)


def test_split_keeps_store_indices(toy_store):
    train = StoreDataset(toy_store, split="train")
    assert [train[i]["index"] for i in range(len(train))] == [0, 2]
    assert StoreDataset(toy_store, split="test")[0]["id"] == "c1"
    with pytest.raises(StoreError, match="no split 'val'"):
        StoreDataset(toy_store, split="val")


def test_transform_configs_get_the_store_layout_and_image_size(toy_store):
    ds = StoreDataset(
        toy_store, transform=[{"type": "NormalizeImage2D"}, {"type": "ReplayPad", "length": 7}, {"type": "JointToBone"}]
    )
    x = ds[0]["keypoints"]  # clip 0: 3 frames replayed to 7
    assert x.shape[1] == 7
    # bone of left_wrist (9) from left_elbow (7): y/w*2 difference = (9-7)/200*2; x identical -> 0
    assert x[:, 4, 9, 0].tolist() == pytest.approx([0.0, 0.02])
    assert torch.equal(x[:, 3], x[:, 0])  # frame 3 replays frame 0


def test_collate_pads_variable_lengths_with_zeros(toy_store):
    ds = StoreDataset(toy_store)
    batch = collate_clips([ds[0], ds[1]])
    assert tuple(batch["keypoints"].shape) == (2, 2, 5, 17, 2)
    assert batch["length"].tolist() == [3, 5] and batch["label"].tolist() == [0, 1] and batch["id"] == ["c0", "c1"]
    assert torch.all(batch["keypoints"][0, :, 3:] == 0)
    assert torch.equal(batch["keypoints"][1], ds[1]["keypoints"])


def test_dataset_holds_no_frames(synthetic_store):
    ds = StoreDataset(synthetic_store)
    frames_bytes = sum(len(ds.store.frames(i)["keypoints"]) for i in range(len(ds))) * 2 * 17 * 2 * 4
    # what travels to a worker: the clip table (tens of bytes a clip) and the layout, never the frames
    assert len(pickle.dumps(ds)) < 8000 < frames_bytes


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_two_workers_read_every_clip_once(synthetic_store, context):
    if context not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {context} on this platform")
    ds = StoreDataset(synthetic_store, transform=[{"type": "SelectPersons", "num": 2}])
    seen = {}
    loader = DataLoader(ds, batch_size=5, num_workers=2, collate_fn=collate_clips, multiprocessing_context=context)
    for batch in loader:
        for row, index in enumerate(batch["index"].tolist()):
            seen[index] = batch["keypoints"][row, :, : batch["length"][row]]
    assert sorted(seen) == list(range(len(ds)))
    for index in (0, 13, len(ds) - 1):
        assert torch.equal(seen[index], ds[index]["keypoints"])


def test_random_transforms_differ_between_workers_and_repeat_with_a_seed(synthetic_store):
    ds = StoreDataset(synthetic_store, transform=RandomScale(0.5, seed=1))

    def first_two_from_two_workers():
        torch.manual_seed(11)
        # batch_size=None: index 0 goes to worker 0, the next index 0 to worker 1
        loader = DataLoader(ds, batch_size=None, num_workers=2, sampler=[0, 0], multiprocessing_context="fork")
        return [s["keypoints"] for s in loader]

    a0, a1 = first_two_from_two_workers()
    b0, b1 = first_two_from_two_workers()
    assert not torch.equal(a0, a1)
    assert torch.equal(a0, b0) and torch.equal(a1, b1)


def test_3d_coordinates_feed_the_transforms(tmp_path):
    kp3 = np.zeros((2, 1, 17, 3), np.float32)
    kp3[..., 2] = 7.0
    with StoreWriter(tmp_path / "3d.h5", layout="coco-17", coord_dims=2) as w:
        w.add(Clip(id="a", keypoints=np.zeros((2, 1, 17, 2)), keypoints_3d=kp3))
    x = StoreDataset(tmp_path / "3d.h5", coordinates="keypoints_3d")[0]["keypoints"]
    assert tuple(x.shape) == (3, 2, 17, 1) and torch.all(x[2] == 7)


def test_missing_coordinates_field_is_a_store_error(toy_store):
    with pytest.raises(StoreError, match="no 'keypoints_3d'"):
        StoreDataset(toy_store, coordinates="keypoints_3d")
