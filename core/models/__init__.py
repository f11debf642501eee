"""Layer 2, models: the classifiers (RNN cells, bag-of-words, context-augmented BoW) and model folders with the
registry of model kinds that reads them."""
