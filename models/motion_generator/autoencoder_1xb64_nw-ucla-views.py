# Ablation of Tables 4.6 / 4.13 ("w/o D"): the same generator and training with no learnable dictionary, the code
# split on the fixed canonical basis (first 128 channels Motion, last 32 Static).
_base_ = ["./motion-generator_1xb64_nw-ucla-views.py"]
model = dict(net=dict(use_dictionary=False))
