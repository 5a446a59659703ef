"""LSTM self-supervision (seed 003): crops around the animal and retrieval scores of the embeddings."""
