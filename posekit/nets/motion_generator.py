"""The motion generator of LAC / ViA (thesis ch. 4, Table 4.1, eq. 4.1-4.5): a 1D temporal-convolution autoencoder
of 2D skeleton sequences whose latent code is split, by a learnable orthonormal dictionary, into 'Motion' magnitudes
(one set per time step) and 'Static' magnitudes (one set per sequence: body and view).

Input representation (the authors' code): each frame's joints relative to the root joint, the root dropped and its
velocity appended as an extra joint, z-scored channel by channel with the training data's mean and std (buffers
``mean``/``std``, also in the config, so inference reproduces them). C = 2 V channels for V joints in 2D.
"""

from __future__ import annotations

import torch
from torch import nn

from ..registry import MODELS

LATENT = 160


def _encoder(channels) -> nn.Sequential:
    layers = []
    for c_in, c_out in zip(channels[:-1], channels[1:]):
        layers += [nn.ReflectionPad1d(3), nn.Conv1d(c_in, c_out, kernel_size=8, stride=2), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers)


def _decoder(channels, dropout: float) -> nn.Sequential:
    layers = []
    last = len(channels) - 2
    for i, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:])):
        layers += [
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.ReflectionPad1d(3),
            nn.Conv1d(c_in, c_out, kernel_size=7),
        ]
        if i < 2 and dropout:
            layers.append(nn.Dropout(dropout))
        if i < last:
            layers.append(nn.LeakyReLU(0.2))
    return nn.Sequential(*layers)


@MODELS.register_module()
class MotionGenerator(nn.Module):
    """E_LAC -> action dictionary D_v -> D_LAC for ``num_joints`` 2D joints with root ``root`` (a joint index).

    ``use_dictionary=False`` is the ablation without a learnable dictionary (Table 4.13, 'w/o D_c'): the code is
    split on the fixed canonical basis (its first ``motion_dims`` channels are Motion, the rest Static)."""

    def __init__(
        self,
        num_joints: int,
        root: int = 0,
        motion_dims: int = 128,
        use_dictionary: bool = True,
        encoder_channels=(64, 96, LATENT),
        decoder_channels=(128, 64),
        dropout: float = 0.2,
        mean=None,
        std=None,
        coord_dims: int = 2,
    ):
        super().__init__()
        latent = encoder_channels[-1]  # the dictionary is latent x latent (160 in the thesis)
        if not 0 < motion_dims < latent:
            raise ValueError(f"motion_dims must be in [1, {latent}), got {motion_dims}")
        self.num_joints, self.root, self.coord_dims = num_joints, root, coord_dims
        self.channels = num_joints * coord_dims  # V-1 root-relative joints plus the root velocity
        self.motion_dims = motion_dims
        self.encoder = _encoder((self.channels, *encoder_channels))
        self.decoder = _decoder((latent, *decoder_channels, self.channels), dropout)
        if use_dictionary:
            self.dictionary = nn.Parameter(torch.linalg.qr(torch.randn(latent, latent))[0])
        else:
            self.register_buffer("dictionary", torch.eye(latent))
        self.use_dictionary = use_dictionary
        self.register_buffer("mean", torch.zeros(self.channels) if mean is None else torch.tensor(mean).float())
        self.register_buffer("std", torch.ones(self.channels) if std is None else torch.tensor(std).float())

    # -- representation ---------------------------------------------------------------------------------------
    def to_features(self, joints: torch.Tensor) -> torch.Tensor:
        """(N, T, V, 2) joints -> (N, C, T) z-scored root-relative joints and root velocity (0 at frame 0)."""
        root = joints[:, :, self.root]
        relative = joints - root[:, :, None]
        keep = [j for j in range(self.num_joints) if j != self.root]
        velocity = torch.cat([torch.zeros_like(root[:, :1]), root[:, 1:] - root[:, :-1]], dim=1)
        x = torch.cat([relative[:, :, keep], velocity[:, :, None]], dim=2).flatten(2)  # (N, T, C)
        return ((x - self.mean) / self.std).transpose(1, 2)

    def to_joints(self, features: torch.Tensor) -> torch.Tensor:
        """(N, C, T) features -> (N, T, V, 2) joints, the root path integrated from its velocity (starting at 0)."""
        x = features.transpose(1, 2) * self.std + self.mean
        x = x.reshape(x.shape[0], x.shape[1], self.num_joints, self.coord_dims)
        root = torch.cumsum(x[:, :, -1], dim=1)
        relative = x[:, :, :-1]
        joints = torch.cat(
            [relative[:, :, : self.root], torch.zeros_like(root[:, :, None]), relative[:, :, self.root :]], dim=2
        )
        return joints + root[:, :, None]

    # -- dictionary -------------------------------------------------------------------------------------------
    def basis(self) -> torch.Tensor:
        """The orthonormal dictionary D_v (latent, latent), columns = directions (eq. 4.1): QR of the learnable matrix,
        in float32 whatever the autocast (QR has no half-precision kernel)."""
        if not self.use_dictionary:
            return self.dictionary
        with torch.autocast(device_type=self.dictionary.device.type, enabled=False):
            return torch.linalg.qr(self.dictionary.float())[0]

    # -- autoencoder ------------------------------------------------------------------------------------------
    def encode(self, features: torch.Tensor):
        """(N, C, T) -> Motion magnitudes (N, J, T/8), one set per time step, and Static magnitudes (N, K) of the
        time-averaged code (eq. 4.3; the directions have unit norm, so a magnitude is a dot product)."""
        if features.shape[-1] % 8 or features.shape[-1] < 16:
            raise ValueError(f"the generator needs T a multiple of 8 and at least 16 frames, got {features.shape[-1]}")
        code = self.encoder(features).float()
        basis = self.basis()
        motion = torch.einsum("cj,nct->njt", basis[:, : self.motion_dims], code)
        static = code.mean(dim=2) @ basis[:, self.motion_dims :]
        return motion, static

    def decode(self, motion: torch.Tensor, static: torch.Tensor) -> torch.Tensor:
        """Magnitudes -> (N, C, T): D_LAC(r_m + r_c), r_m = sum_i a_mi d_mi per time step, r_c = sum_i a_ci d_ci."""
        basis = self.basis()
        code = torch.einsum("cj,njt->nct", basis[:, : self.motion_dims], motion)
        code = code + (static @ basis[:, self.motion_dims :].T)[:, :, None]
        return self.decoder(code)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.decode(*self.encode(features))

    def retarget(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """The Motion of ``a`` with the Static (body, view) of ``b``: D(r_m(a) + r_c(b))."""
        return self.decode(self.encode(a)[0], self.encode(b)[1])

    def compose(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Eq. 4.5: the averaged Motion of ``a`` and ``b`` with ``a``'s Static, D((r_m + r_m')/2 + r_c)."""
        (motion_a, static_a), (motion_b, _) = self.encode(a), self.encode(b)
        return self.decode((motion_a + motion_b) / 2, static_a)
