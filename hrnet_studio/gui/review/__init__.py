"""Review and correct: suggestions, corrections with mouse and keyboard, identity fixes, and training sets from corrections."""
