"""Finding and tracking an animal in video: motion labels, the FCN detector and its bootstrapping, tracks."""
