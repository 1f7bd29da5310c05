"""Review and correct: the user fixes the model's output on their own video and trains on the corrections."""
