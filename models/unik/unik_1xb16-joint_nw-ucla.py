# UNIK on N-UCLA (Kinect v1 3D joints), cross-view protocol (views 1+2 train, view 3 test), joint stream.
_base_ = ["../_base_/default_runtime.py", "../_base_/sgd_step_warmup.py", "../_base_/store_clips.py"]
num_persons = 1
model = dict(type="SkeletonRecognizer",
             net=dict(type="UNIK", num_heads=3, window=1, num_persons=num_persons))
train_pipeline = [
    dict(type="CentreSkeleton", per_frame=False),
    dict(type="SelectPersons", num=num_persons),
    dict(type="RandomTemporalCrop", length=52),
    dict(type="ResizeTime", length=52),
    dict(type="RandomRotation", angle=15),
    dict(type="RandomScale", scale=0.1),
]
test_pipeline = [dict(type="CentreSkeleton", per_frame=False), dict(type="SelectPersons", num=num_persons),
                 dict(type="ResizeTime", length=52)]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
