"""A plug-in whose constructor hangs."""
import time


class Impl:
    def __init__(self):
        time.sleep(3600)
