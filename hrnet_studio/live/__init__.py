"""Live out of the app: the headless live mode and the stream sinks (OSC, WebSocket, Lab Streaming Layer)."""
