"""The skeleton store: one HDF5 file per dataset, frames packed across clips, clips indexed by offsets.

Layout of the file (the written schema is ``data_schemas/store.schema.json`` and ``data_schemas/store.md``)::

    /                  attrs: format, format_version, name, layout (JSON), coord_dims, coordinates, provenance (JSON)
    /frames/keypoints  (F, M, V, C) float32, NaN = missing      /frames/scores       (F, M, V) float32
    /frames/track_id   (F, M) int32, -1 = no person             /frames/frame_index  (F,) int64 (index in the video)
    /frames/box        (F, M, 4) float32 x1 y1 x2 y2 (optional) /frames/keypoints_3d (F, M, V, 3) (optional)
    /frames/labels     (F, K) bool per-frame multi-labels (optional)
    /clips/{id, offset, length, label, fps, image_size, source, text}   (N,) rows; /clips/track_names optional
    /splits/NAME       sorted clip indices                      /features/NAME       (N, D) float32 per-clip
    /classes/{name, description}                                /class_features/NAME (K, D) float32 (optional)

``/clips/text`` holds a clip's captions, one per line (``encode_captions`` / ``decode_captions``).

Frames of all clips are stacked along axis 0 and chunked there, so a clip is one contiguous slice, the file has
a fixed number of objects whatever the number of clips, and reading a clip touches one or two chunks.
Every write goes to a temporary file beside the target, which replaces the target only when complete;
appending copies the existing store first, so an interrupted append leaves the original untouched.
"""

from .edit import StoreEditor  # noqa: F401
from .format import (  # noqa: F401
    FORMAT,
    FORMAT_VERSION,
    Clip,
    StoreError,
    atomic_path,
    check_format,
    decode_captions,
    encode_captions,
    temporary_beside,
)
from .reader import SkeletonStore  # noqa: F401
from .writer import StoreWriter  # noqa: F401
