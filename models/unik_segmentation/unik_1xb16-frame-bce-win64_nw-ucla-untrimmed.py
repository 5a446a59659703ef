# The segmentation config for one-person sequences: N-UCLA's clips chained by `posekit synth untrimmed` (Kinect v1,
# 20 joints, 3D; with --project-2d, their 2D camera view, for an encoder pre-trained on 2D joints).
_base_ = ["unik_1xb16-frame-bce-win64_untrimmed.py"]
num_persons = 1
model = dict(net=dict(num_persons=num_persons))
train_pipeline = [dict(type="SelectPersons", num=num_persons), dict(type="RandomScale", scale=0.1)]
test_pipeline = [dict(type="SelectPersons", num=num_persons)]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
