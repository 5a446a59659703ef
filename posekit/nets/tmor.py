"""The text term of T-MOR (thesis sec. 6.3.3, eq. 6.6): motion against the text of its class, negatives drawn from
the other classes only. The motion term (eq. 6.3) and the video term (eq. 6.4) are MoCo's InfoNCE of
:mod:`posekit.nets.contrastive` as they stand.

Sim is eq. 6.5: the cosine of the two projected embeddings over a temperature (phi is applied by the caller).
Eq. 6.6's negatives "are selected with different action categories": a text of the query's own class is neither
its positive nor a negative (two clips of one class are never each other's negatives), so the loss needs labels.
As in :func:`~posekit.nets.contrastive.sequence_infonce`, the denominator includes the positive.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .contrastive import multi_positive_nce


def class_text_infonce(
    motion: torch.Tensor,
    texts: torch.Tensor,
    labels: torch.Tensor,
    class_texts: torch.Tensor | None = None,
    class_labels: torch.Tensor | None = None,
    temperature: float = 0.1,
) -> torch.Tensor:
    """Eq. 6.6: motion (N, D) of N clips, texts (N, D) their captions' projected embeddings, labels (N,) their
    classes; optionally class_texts (K, D) of classes class_labels (K,), more negatives -> scalar.

        L = -mean_i log( e^Sim(m_i, t_i) / (e^Sim(m_i, t_i) + sum_{j: y_j != y_i} e^Sim(m_i, t_j)
                                          + sum_{k: c_k != y_i} e^Sim(m_i, c_k)) ),

    the keys t_j being the other clips' captions. Rows are normalised here."""
    motion, texts = F.normalize(motion, dim=-1), F.normalize(texts, dim=-1)
    keys, key_labels = texts, labels
    if class_texts is not None and len(class_texts):
        keys = torch.cat([texts, F.normalize(class_texts, dim=-1)])
        key_labels = torch.cat([labels, class_labels])
    positive_logits = (motion * texts).sum(dim=-1, keepdim=True) / temperature
    negative_logits = motion @ keys.T / temperature
    same_class = labels[:, None] == key_labels[None, :]  # the own caption included: it is the positive
    return multi_positive_nce(positive_logits, negative_logits.masked_fill(same_class, float("-inf")))
