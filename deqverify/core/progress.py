"""A minimal text progress bar on stderr (no extra dependency)."""

from __future__ import annotations

import sys


class ProgressBar:
    def __init__(self, total: int, label: str = "", width: int = 30, stream=None):
        self.total, self.label, self.width = max(total, 1), label, width
        self.stream = stream or sys.stderr
        self.done = 0

    def update(self, done: int | None = None) -> None:
        self.done = self.done + 1 if done is None else done
        filled = min(self.width, self.width * self.done // self.total)
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
                          f"{self.done}/{self.total}")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\r" + " " * (self.width + len(self.label) + 30) + "\r")
        self.stream.flush()
