"""User-facing errors: each carries one line that the CLI and the GUI show as is."""


class StudioError(Exception):
    """An error caused by the user's input (a file, an option), explained in one line."""


class CheckpointError(StudioError):
    pass


class VideoError(StudioError):
    pass


class DetectorError(StudioError):
    pass
