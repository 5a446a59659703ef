"""Training data: a torch Dataset over skeleton stores and the UNIK-style transforms."""

from .dataset import StoreDataset, collate_clips  # noqa: F401
from .transforms import Compose, FormatCTVM, build_transforms  # noqa: F401
