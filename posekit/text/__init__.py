"""Text of a store: template captions for clips (``captions``) and text embeddings of the clips' captions and of
the classes (``encoders``, ``embed``), as ``posekit text caption`` and ``posekit text embed`` write them."""
