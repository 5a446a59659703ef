# CTR-GCN on Penn Action ground-truth 2D joints with UNIK's Penn Action data pipeline and schedule
# (models/unik/unik_1xb16-joint_penn-action.py: 60 epochs, crops, mirroring), so that only the network differs.
_base_ = ["../unik/unik_1xb16-joint_penn-action.py"]
model = dict(net=dict(_delete_=True, type="CTRGCN", num_persons=1))  # as the base: one person
