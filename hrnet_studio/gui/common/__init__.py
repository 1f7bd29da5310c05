"""What every part of the app shares: long jobs off the UI thread, the shutdown contract, non-blocking questions and the UI-thread garbage collector."""
