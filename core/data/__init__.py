"""Layer 1, data: the tokenizer and vocabulary, dataset loaders (named datasets or any file), and the toy language."""
