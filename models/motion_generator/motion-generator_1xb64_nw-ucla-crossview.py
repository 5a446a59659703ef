# Cross-view protocol (Mixamo-style, after the thesis's Table 4.14 'Mixamo CV'): the same generator and training as
# motion-generator_1xb64_nw-ucla-views.py, but views alone are held out, bodies are all shared: train on yaw -90,
# -30, 30 and 90, validate and test at yaw -60, 0 and 60 (A, B and both targets at views never seen in training).
# The thesis only says its two projections come from random 3D rotations; this split of the seven default views of
# `posekit synth views` is posekit's. Renders: `posekit synth views nw_ucla.h5 --split train -o nw_ucla_views.h5`.
_base_ = ["./motion-generator_1xb64_nw-ucla-views.py"]
pairs = dict(val_bodies=0, val_views=[-60, 0, 60])
train_dataloader = dict(dataset=pairs)
val_dataloader = dict(dataset=pairs)
test_dataloader = dict(dataset=pairs)
