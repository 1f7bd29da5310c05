"""The fine-tune wizard: data, base model, settings, and training in its own process."""
