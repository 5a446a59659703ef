# The UNIK / 2s-AGCN schedule: SGD Nesterov momentum 0.9, lr 0.1, wd 1e-4, linear warm-up, step decay x0.1.
max_epochs = 60
optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4))
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type="MultiStepLR", by_epoch=True, milestones=[35, 50], gamma=0.1),
]
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=5)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
