# A tiny schedule for tests and the demo: a few epochs, no warm-up beyond one epoch.
max_epochs = 3
param_scheduler = [dict(type="MultiStepLR", by_epoch=True, milestones=[2], gamma=0.1)]
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=1)
train_dataloader = dict(num_workers=0, persistent_workers=False)
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
