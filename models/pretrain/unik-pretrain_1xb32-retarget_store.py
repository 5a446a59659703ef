# ViA's positives (thesis sec. 4.4): the query is the window as the motion generator rebuilds it; its P = 4
# positives keep the window's Motion with the Statics (body, view) of 4 other windows of the batch. Needs
# --generator, a checkpoint of `posekit train motion-generator`, and 2D joints in its layout (a 3D store:
# --project-2d). Every view is then augmented as in the control.
_base_ = ["./unik-pretrain_1xb32-augment_store.py"]
model = dict(views=dict(mode="retarget", static_source="batch"))
