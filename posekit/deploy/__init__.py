"""Deployment of trained action recognisers: export to ONNX (:mod:`.export`, ``posekit export``) with what labelling
clips needs in the file's metadata (:mod:`.metadata`), and labelling through onnxruntime (:mod:`.runtime`,
``posekit predict MODEL.onnx STORE``)."""
