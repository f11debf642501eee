"""Layer 5, tools: the command line, doctor, benchmarks, the real-browser driver and the model importer."""
