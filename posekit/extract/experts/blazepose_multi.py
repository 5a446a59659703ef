"""Several persons per frame from MediaPipe's offline models: faces found by MediaPipe's face detector (shipped
in the wheel) each give a person box, BlazePose runs on each box's crop, the whole-frame BlazePose person is kept
too, and BlazePose runs again on the frame with the persons found greyed out (a back turned, a face too small);
duplicates removed.

Per frame:
1. faces: ``mp.solutions.face_detection`` (full-range model) on overlapping square tiles of side
   min(width, height), so that small faces of a wide frame are not shrunk away by the detector's 192-pixel input;
   a face found in two tiles is kept once;
2. a person box per face (:func:`person_box`), BlazePose in static-image mode on its crop, landmarks mapped back
   to the frame; a crop's pose whose nose is far from the face (it found a neighbour) is dropped;
3. the whole-frame BlazePose (video mode, as ``blazepose``) person;
4. while fewer than ``max_persons``: BlazePose (static) on the frame with every person found so far greyed out
   (a person it finds must be MIN_HIDDEN_HEIGHT of the frame tall);
5. duplicates (:func:`distinct_persons`) dropped, at most ``max_persons`` persons kept, the largest first."""

from __future__ import annotations

import contextlib

import numpy as np

from ...registry import EXPERTS
from ..tracking import box_iou, keypoint_distance
from .base import FramePoses
from .blazepose import BlazePose, _native_stderr_silenced

# Person box from a face box, in face-box heights (MediaPipe's face box spans about brow to chin, ~0.7 of a
# head; an adult is ~7.5 heads tall): from 1.5 above the face centre to 9 below (feet, with a margin), 3.5 to
# each side (arms stretched sideways reach ~1 body height across).
ABOVE, BELOW, SIDE = 1.5, 9.0, 3.5
NOSE_REACH = 0.6  # a crop's pose is this face's person when its nose lies within this many face heights of it
# Two poses are one person below this mean joint distance / box diagonal. Not box IoU: two persons hugging have
# boxes overlapping by more than half, yet their joints lie apart.
DUPLICATE_DISTANCE = 0.1
FACE_TILE_OVERLAP = 0.25
MASK_PADDING = 0.1  # a found person's keypoint extent, padded by this share of its size, is greyed out
# A person the masked re-run finds must be this share of the frame height tall: on what is left of a frame the
# model also fits small skeletons to texture (a barbell plate)
MIN_HIDDEN_HEIGHT = 0.2


def person_box(face: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """The x1 y1 x2 y2 box where a person whose face box is ``face`` (x1 y1 x2 y2) stands, clipped to the image
    (width, height)."""
    x1, y1, x2, y2 = np.asarray(face, np.float64)
    cx, cy, h = (x1 + x2) / 2, (y1 + y2) / 2, y2 - y1
    box = np.array([cx - SIDE * h, cy - ABOVE * h, cx + SIDE * h, cy + BELOW * h])
    return np.clip(box, 0, [image_size[0], image_size[1], image_size[0], image_size[1]]).astype(np.float32)


def distinct_persons(poses: FramePoses, max_persons: int) -> np.ndarray:
    """Indices of the persons of ``poses`` (boxes filled in) to keep: in order of box size, a person is dropped
    when it duplicates one kept (mean joint distance below DUPLICATE_DISTANCE of the kept one's box diagonal);
    at most ``max_persons``."""
    boxes = poses.boxes
    diagonal = np.nan_to_num(np.hypot(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]))
    distance = keypoint_distance(poses.keypoints, poses.keypoints, diagonal)
    kept: list[int] = []
    for p in np.argsort(-diagonal, kind="stable"):
        if len(kept) == max_persons:
            break
        if all(distance[p, k] >= DUPLICATE_DISTANCE for k in kept):
            kept.append(int(p))
    return np.array(kept, np.int64)


def face_tiles(image_size: tuple[int, int], side: int | None = None) -> list[tuple[int, int, int]]:
    """(x, y, side) squares of side ``side`` (min(width, height) by default, at most that) covering the image,
    overlapping by FACE_TILE_OVERLAP."""
    width, height = image_size
    side = min(width, height, side or width)

    def starts(length):
        count = int(np.ceil(max(length - side, 0) / (side * (1 - FACE_TILE_OVERLAP)))) + 1
        return np.linspace(0, length - side, count).round().astype(int)

    return [(int(x), int(y), side) for y in starts(height) for x in starts(width)]


@EXPERTS.register_module("blazepose-multi")
class BlazePoseMulti(BlazePose):
    batch_size = 16

    def __init__(
        self, name: str = "blazepose-multi", device: str = "cpu", min_confidence: float = 0.5, max_persons: int = 4
    ):
        super().__init__(name, device, min_confidence)
        self.max_persons = max_persons
        self._faces = self._crop_pose = None

    def start(self, video, image_size):
        super().start(video, image_size)  # the whole-frame video-mode graph, fresh per video
        import mediapipe as mp

        if self._faces is None:  # stateless between frames: built once
            with _native_stderr_silenced():
                self._faces = mp.solutions.face_detection.FaceDetection(
                    model_selection=1, min_detection_confidence=self.min_confidence
                )
                self._crop_pose = mp.solutions.pose.Pose(
                    static_image_mode=True, model_complexity=1, min_detection_confidence=self.min_confidence
                )
            self._graphs_quiet_frames = 3  # their models start on the first frames, each printing a notice

    def predict(self, frames, indices):
        import cv2

        whole = super().predict(frames, indices)
        out = []
        for frame, found in zip(frames, whole):
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            with _native_stderr_silenced() if self._graphs_quiet_frames else contextlib.nullcontext():
                faces = self._find_faces(rgb)
                persons = [
                    p for p in (self._crop_person(rgb, faces, f) for f in range(len(faces))) if p is not None
                ] + [(found.keypoints[0], found.scores[0]) for _ in range(len(found))]
                persons += self._hidden_persons(rgb, persons)
            self._graphs_quiet_frames = max(self._graphs_quiet_frames - 1, 0)
            if not persons:
                out.append(FramePoses.empty(self.layout.num_joints))
                continue
            poses = FramePoses(np.stack([p[0] for p in persons]), np.stack([p[1] for p in persons])).with_boxes()
            keep = distinct_persons(poses, self.max_persons)
            out.append(FramePoses(poses.keypoints[keep], poses.scores[keep], poses.boxes[keep]))
        return out

    def _find_faces(self, rgb: np.ndarray) -> np.ndarray:
        """(F, 4) face boxes x1 y1 x2 y2 in frame pixels, a face seen by two tiles once."""
        height, width = rgb.shape[:2]
        faces, scores = [], []
        for x, y, side in face_tiles((width, height)):
            result = self._faces.process(np.ascontiguousarray(rgb[y : y + side, x : x + side]))
            for detection in result.detections or []:
                b = detection.location_data.relative_bounding_box
                faces.append(
                    (
                        x + b.xmin * side,
                        y + b.ymin * side,
                        x + (b.xmin + b.width) * side,
                        y + (b.ymin + b.height) * side,
                    )
                )
                scores.append(detection.score[0])
        if not faces:
            return np.zeros((0, 4), np.float32)
        faces = np.array(faces, np.float32)
        iou = box_iou(faces, faces)
        kept: list[int] = []
        for f in np.argsort(-np.array(scores), kind="stable"):
            if all(iou[f, k] <= 0.3 for k in kept):
                kept.append(int(f))
        return faces[kept]

    def _crop_person(self, rgb: np.ndarray, faces: np.ndarray, f: int):
        """(keypoints (V, 2), scores (V,)) of the person under ``faces[f]``, in frame pixels; None if not found."""
        face = faces[f]
        x1, y1, x2, y2 = person_box(face, (rgb.shape[1], rgb.shape[0])).round().astype(int)
        if x2 - x1 < 8 or y2 - y1 < 8:
            return None
        crop = rgb[y1:y2, x1:x2].copy()
        # BlazePose's detector locks onto a face: grey out the other faces in the crop, or a neighbour in a hug
        # wins over this crop's person
        for other in np.delete(faces, f, axis=0).round().astype(int) - (x1, y1, x1, y1):
            crop[max(other[1], 0) : max(other[3], 0), max(other[0], 0) : max(other[2], 0)] = 128
        result = self._crop_pose.process(crop)
        if result.pose_landmarks is None:
            return None
        marks = result.pose_landmarks.landmark
        xy = np.array([[m.x, m.y] for m in marks], np.float32) * (x2 - x1, y2 - y1) + (x1, y1)
        face_centre, face_height = (face[:2] + face[2:]) / 2, face[3] - face[1]
        if np.linalg.norm(xy[0] - face_centre) > NOSE_REACH * face_height:  # landmark 0 is the nose
            return None
        return xy, np.array([m.visibility for m in marks], np.float32)

    def _hidden_persons(self, rgb: np.ndarray, persons: list) -> list:
        """Persons neither face nor whole-frame graph gave (a back turned, a face too small): BlazePose again on
        the whole frame with the persons found so far greyed out, until it finds nobody or max_persons are found."""
        found = []
        masked = rgb.copy()
        while len(persons) + len(found) < self.max_persons:
            for keypoints, _ in persons + found:
                x1, y1, x2, y2 = _padded_extent(keypoints, rgb.shape)
                masked[y1:y2, x1:x2] = 128
            result = self._crop_pose.process(masked)
            if result.pose_landmarks is None:
                break
            marks = result.pose_landmarks.landmark
            xy = np.array([[m.x, m.y] for m in marks], np.float32) * (rgb.shape[1], rgb.shape[0])
            if np.ptp(xy[:, 1]) < MIN_HIDDEN_HEIGHT * rgb.shape[0]:
                break
            found.append((xy, np.array([m.visibility for m in marks], np.float32)))
        return found

    def close(self):
        super().close()
        for graph in (self._faces, self._crop_pose):
            if graph is not None:
                graph.close()
        self._faces = self._crop_pose = None


def _padded_extent(keypoints: np.ndarray, shape: tuple) -> np.ndarray:
    """The integer x1 y1 x2 y2 extent of a pose's keypoints, padded by MASK_PADDING of its size, in the image."""
    low, high = np.nanmin(keypoints, axis=0), np.nanmax(keypoints, axis=0)
    pad = MASK_PADDING * (high - low)
    box = np.concatenate([low - pad, high + pad]).round()
    return np.clip(box, 0, [shape[1], shape[0], shape[1], shape[0]]).astype(int)
