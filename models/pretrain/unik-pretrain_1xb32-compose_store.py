# LAC's positives (thesis eq. 4.5 and sec. 4.3.2): the query is the window's Motion averaged with a partner window's
# (2 motions, Table 4.7's best) decoded with its own Static; its P = 4 positives keep that composed Motion with the
# Statics (body, view) of other windows of the batch, the first the partner's. Needs --generator, a checkpoint of
# `posekit train motion-generator`, and 2D joints in its layout (a 3D store: --project-2d). Every view is then
# augmented as in the control.
_base_ = ["./unik-pretrain_1xb32-augment_store.py"]
model = dict(views=dict(mode="compose", num_motions=2, static_source="batch"))
