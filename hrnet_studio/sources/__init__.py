"""Where frames come from: video files (the one reader), image folders and cameras."""
