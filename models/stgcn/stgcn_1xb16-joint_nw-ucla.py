# ST-GCN on N-UCLA cross-view with UNIK's N-UCLA data pipeline and schedule (models/unik/unik_1xb16-joint_nw-ucla.py:
# CTR-GCN's feeder, 40 epochs), so that the networks, not the feeds, differ in a comparison.
_base_ = ["../unik/unik_1xb16-joint_nw-ucla.py"]
model = dict(net=dict(_delete_=True, type="STGCN", num_persons=1))  # as the base: one person
